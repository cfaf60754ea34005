//! The page worker: one long-lived thread that does every page's synchronous work (decode, clean,
//! parse, commit) while the runtime's threads fetch.
//!
//! Pages commit one at a time anyway (the commit lock), so a second thread only waits. One thread
//! fed by a channel replaced `spawn_blocking` with two pages at once: in the crawl benchmark peak
//! RSS fell by ~15 MB (one thread's regex caches and allocator cache instead of those of every
//! blocking thread tokio kept) and CPU per page by ~4% (README, Performance).

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::mpsc::{self, RecvTimeoutError};
use std::time::Duration;

/// How long the worker waits for the next page before it calls its idle hook. Pages that come
/// closer together than this share one store transaction (see [`crate::store::Store::stage`]);
/// a page that comes alone is written this long after it is done.
const IDLE: Duration = Duration::from_millis(10);

/// A page's synchronous work, with the way back to the task that waits for it.
type Job = Box<dyn FnOnce() + Send>;

/// Why a job gave no result.
#[derive(Debug, thiserror::Error)]
pub(crate) enum WorkerError {
    /// The work panicked; the payload is kept so the waiting task can panic with it.
    #[error("page processing panicked")]
    Panicked(Box<dyn std::any::Any + Send>),
    #[error("the page worker thread has stopped")]
    Stopped,
}

/// The sending end of the worker's queue; the thread ends when this is dropped and the queue is empty.
pub(crate) struct PageWorker {
    jobs: mpsc::Sender<Job>,
}

impl PageWorker {
    /// Starts the worker thread. `idle` runs once no job has come for [`IDLE`] after the last one.
    pub fn start(idle: impl Fn() + Send + 'static) -> std::io::Result<PageWorker> {
        let (jobs, queue) = mpsc::channel::<Job>();
        std::thread::Builder::new().name("nianbao-pages".into()).spawn(move || {
            let mut worked = false;
            loop {
                let next = if worked { queue.recv_timeout(IDLE) } else { queue.recv().map_err(RecvTimeoutError::from) };
                match next {
                    Ok(job) => {
                        job();
                        worked = true;
                    }
                    Err(RecvTimeoutError::Timeout) => {
                        idle();
                        worked = false;
                    }
                    Err(RecvTimeoutError::Disconnected) => break,
                }
            }
        })?;
        Ok(PageWorker { jobs })
    }

    /// Runs `work` on the worker thread, after the jobs queued before it, and waits for its result.
    /// A panic in `work` is caught there, so the worker goes on with the next page.
    pub async fn run<T: Send + 'static>(&self, work: impl FnOnce() -> T + Send + 'static) -> Result<T, WorkerError> {
        let (done, result) = tokio::sync::oneshot::channel();
        let job: Job = Box::new(move || {
            // The waiting task may be gone (cancelled); its result is then dropped.
            let _ = done.send(catch_unwind(AssertUnwindSafe(work)));
        });
        self.jobs.send(job).map_err(|_| WorkerError::Stopped)?;
        match result.await {
            Ok(Ok(value)) => Ok(value),
            Ok(Err(panic)) => Err(WorkerError::Panicked(panic)),
            Err(_) => Err(WorkerError::Stopped),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn runs_jobs_in_order_on_one_thread_and_survives_a_panic() {
        let worker = PageWorker::start(|| {}).unwrap();
        let first = worker.run(|| std::thread::current().id()).await.unwrap();
        let panicked = worker.run(|| -> u32 { panic!("a page that breaks the cleaner") }).await;
        assert!(matches!(panicked, Err(WorkerError::Panicked(_))), "{panicked:?}");
        let after = worker.run(|| std::thread::current().id()).await.unwrap();
        assert_eq!(first, after, "the panic must not replace the worker thread");
        assert_ne!(first, std::thread::current().id());

        let order = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let runs = (0..20).map(|i| {
            let order = std::sync::Arc::clone(&order);
            worker.run(move || order.lock().unwrap().push(i))
        });
        for run in futures_util::future::join_all(runs).await {
            run.unwrap();
        }
        assert_eq!(*order.lock().unwrap(), (0..20).collect::<Vec<_>>());
    }

    #[tokio::test]
    async fn the_idle_hook_runs_once_after_a_pause() {
        let idled = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let counter = std::sync::Arc::clone(&idled);
        let worker = PageWorker::start(move || _ = counter.fetch_add(1, std::sync::atomic::Ordering::SeqCst)).unwrap();
        let idle = || idled.load(std::sync::atomic::Ordering::SeqCst);
        // Waits for the hook to have run `n` times, then a while longer, so a busy machine that
        // schedules the worker late does not fail the test.
        let settled_at = |n: usize| {
            let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
            while idle() < n && std::time::Instant::now() < deadline {
                std::thread::sleep(IDLE);
            }
            std::thread::sleep(IDLE * 10);
            idle()
        };
        std::thread::sleep(IDLE * 3);
        assert_eq!(idle(), 0, "not before any job");
        worker.run(|| ()).await.unwrap();
        assert_eq!(settled_at(1), 1, "once after the job, not again while nothing comes");
        worker.run(|| ()).await.unwrap();
        assert_eq!(settled_at(2), 2);
    }
}
