//! Group commit: pages' commits held in memory and written to sled together, in one transaction.
//!
//! Every sled transaction seals sled's log buffer twice (sled 0.34 rolls the I/O buffer before and
//! after pinning the log), so a transaction per page cost two buffer writes and two
//! `sync_file_range` calls per page: a third of a crawl's CPU. A [`Group`] collects the writes of
//! several commits; the store lays it over sled for every read, so a page sees what the pages
//! before it staged, and writes it as one transaction once it is full (or on flush).
//!
//! A group is written whole or not at all, so the module invariant still holds: a killed run has,
//! for each page, both its results and the removal of its frontier entry, or neither.

use std::collections::BTreeMap;
use std::ops::Bound;
use std::time::{Duration, Instant};

use sled::IVec;

use super::StoreError;

/// The trees a commit writes, as indexes into [`Group::writes`].
#[derive(Debug, Clone, Copy)]
pub(super) enum Slot {
    Pages,
    Fetches,
    Blobs,
    Versions,
    Texts,
    Pending,
    Seen,
    Bodies,
    Due,
}

const SLOTS: usize = 9;

/// Commits per group: large enough that the two seals per transaction are spread thin, small
/// enough that a group of report pages holds a few MB at most.
pub(super) const GROUP_COMMITS: usize = 64;

/// Bytes of values per group, whichever limit comes first: a group of large attachments is
/// written early.
pub(super) const GROUP_BYTES: usize = 8 * 1024 * 1024;

/// Age of a group's first commit at which the group is written, whatever its size: a run killed
/// loses what was staged, so a slow, polite crawl must not hold a minute of pages in memory. With
/// sled's own flush every 500 ms, a kill loses well under a second of work, as it did before.
pub(super) const GROUP_AGE: Duration = Duration::from_millis(100);

/// Writes staged but not yet in sled.
pub(super) struct Group {
    /// Per tree: key → new value, or `None` for a removal.
    writes: [BTreeMap<IVec, Option<IVec>>; SLOTS],
    /// Commits staged.
    commits: usize,
    /// When the first of them was staged.
    since: Option<Instant>,
    /// Bytes of values staged.
    bytes: usize,
    /// Frontier entries staged minus those the group removes from sled, for `pending_len`.
    pub pending_delta: isize,
    /// [`GROUP_AGE`], but for tests that stage a full group on a slow machine.
    pub max_age: Duration,
}

impl Group {
    pub fn new() -> Group {
        Group { writes: Default::default(), commits: 0, since: None, bytes: 0, pending_delta: 0, max_age: GROUP_AGE }
    }

    /// Whether the group should be written before it takes another commit.
    pub fn is_full(&self) -> bool {
        self.commits >= GROUP_COMMITS
            || self.bytes >= GROUP_BYTES
            || self.since.is_some_and(|since| since.elapsed() >= self.max_age)
    }

    /// Counts a commit whose writes are all in.
    pub fn took_commit(&mut self) {
        self.commits += 1;
        self.since.get_or_insert_with(Instant::now);
    }

    pub fn is_empty(&self) -> bool {
        self.writes.iter().all(BTreeMap::is_empty)
    }

    pub fn insert(&mut self, slot: Slot, key: &[u8], value: IVec) {
        self.bytes += key.len() + value.len();
        self.writes[slot as usize].insert(IVec::from(key), Some(value));
    }

    pub fn remove(&mut self, slot: Slot, key: &[u8]) {
        self.bytes += key.len();
        self.writes[slot as usize].insert(IVec::from(key), None);
    }

    /// What the group says of a key: `None` if it has not touched it, `Some(None)` if it removes it.
    pub fn get(&self, slot: Slot, key: &[u8]) -> Option<Option<&IVec>> {
        self.writes[slot as usize].get(key).map(Option::as_ref)
    }

    /// The group's writes to one tree within a range of keys, in key order.
    pub fn range(&self, slot: Slot, from: Bound<&[u8]>, to: Bound<&[u8]>) -> Vec<(IVec, Option<IVec>)> {
        self.writes[slot as usize].range::<[u8], _>((from, to)).map(|(k, v)| (k.clone(), v.clone())).collect()
    }

    /// Every write, tree by tree (the tree as its [`Slot`]'s index), for the transaction that
    /// applies the group.
    pub fn writes(&self) -> impl Iterator<Item = (usize, &IVec, Option<&IVec>)> {
        self.writes.iter().enumerate().flat_map(|(tree, writes)| writes.iter().map(move |(k, v)| (tree, k, v.as_ref())))
    }

    /// Forgets everything, once sled holds it.
    pub fn clear(&mut self) {
        *self = Group { max_age: self.max_age, ..Group::new() };
    }
}

/// A tree's entries in a range with a group's writes laid over them, in key order.
pub(super) struct Merged<I> {
    sled: I,
    sled_next: Option<(IVec, IVec)>,
    staged: std::vec::IntoIter<(IVec, Option<IVec>)>,
    staged_next: Option<(IVec, Option<IVec>)>,
}

impl<I: Iterator<Item = sled::Result<(IVec, IVec)>>> Merged<I> {
    pub fn new(sled: I, staged: Vec<(IVec, Option<IVec>)>) -> Self {
        Merged { sled, sled_next: None, staged: staged.into_iter(), staged_next: None }
    }
}

impl<I: Iterator<Item = sled::Result<(IVec, IVec)>>> Iterator for Merged<I> {
    type Item = Result<(IVec, IVec), StoreError>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            if self.sled_next.is_none() {
                match self.sled.next() {
                    Some(Ok(item)) => self.sled_next = Some(item),
                    Some(Err(e)) => return Some(Err(e.into())),
                    None => {}
                }
            }
            if self.staged_next.is_none() {
                self.staged_next = self.staged.next();
            }
            let staged_first = match (&self.sled_next, &self.staged_next) {
                (None, None) => return None,
                (Some(_), None) => false,
                (None, Some(_)) => true,
                (Some((held, _)), Some((staged, _))) => match staged.cmp(held) {
                    std::cmp::Ordering::Less => true,
                    std::cmp::Ordering::Greater => false,
                    // The staged write replaces what sled holds.
                    std::cmp::Ordering::Equal => {
                        self.sled_next = None;
                        true
                    }
                },
            };
            if !staged_first {
                return self.sled_next.take().map(Ok);
            }
            if let Some((key, Some(value))) = self.staged_next.take() {
                return Some(Ok((key, value)));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn merged(held: &[(&str, &str)], staged: &[(&str, Option<&str>)]) -> Vec<(String, String)> {
        let held: Vec<sled::Result<(IVec, IVec)>> =
            held.iter().map(|(k, v)| Ok((IVec::from(k.as_bytes()), IVec::from(v.as_bytes())))).collect();
        let staged =
            staged.iter().map(|(k, v)| (IVec::from(k.as_bytes()), v.map(|v| IVec::from(v.as_bytes())))).collect();
        Merged::new(held.into_iter(), staged)
            .map(|item| {
                let (k, v) = item.unwrap();
                (String::from_utf8(k.to_vec()).unwrap(), String::from_utf8(v.to_vec()).unwrap())
            })
            .collect()
    }

    fn pairs(items: &[(&str, &str)]) -> Vec<(String, String)> {
        items.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    #[test]
    fn staged_writes_replace_add_and_remove_in_key_order() {
        let held = [("a", "1"), ("c", "3"), ("e", "5"), ("g", "7")];
        let staged = [("b", Some("2")), ("c", Some("33")), ("e", None), ("h", Some("8")), ("i", None)];
        assert_eq!(merged(&held, &staged), pairs(&[("a", "1"), ("b", "2"), ("c", "33"), ("g", "7"), ("h", "8")]));
    }

    #[test]
    fn either_side_may_be_empty() {
        assert_eq!(merged(&[("a", "1")], &[]), pairs(&[("a", "1")]));
        assert_eq!(merged(&[], &[("a", Some("1")), ("b", None)]), pairs(&[("a", "1")]));
        assert_eq!(merged(&[("a", "1")], &[("a", None)]), pairs(&[]));
    }

    #[test]
    fn a_group_fills_by_commits_bytes_or_age() {
        let mut group = Group::new();
        assert!(group.is_empty() && !group.is_full());
        group.insert(Slot::Blobs, b"k", IVec::from(vec![0; GROUP_BYTES]));
        assert!(group.is_full());
        group.clear();
        assert!(group.is_empty() && !group.is_full());
        for _ in 0..GROUP_COMMITS - 1 {
            group.took_commit();
        }
        assert!(!group.is_full());
        group.took_commit();
        assert!(group.is_full());
        group.clear();
        group.took_commit();
        assert!(!group.is_full());
        std::thread::sleep(GROUP_AGE);
        assert!(group.is_full(), "an old group is written however small");
    }

    #[test]
    fn a_range_holds_only_its_keys() {
        let mut group = Group::new();
        for key in [b"a\0\x01", b"b\0\x01", b"b\0\x02", b"c\0\x01"] {
            group.insert(Slot::Pending, key, IVec::from(&b"x"[..]));
        }
        let keys: Vec<IVec> = group
            .range(Slot::Pending, Bound::Included(b"b\0"), Bound::Excluded(b"b\x01"))
            .into_iter()
            .map(|(k, _)| k)
            .collect();
        assert_eq!(keys, vec![IVec::from(&b"b\0\x01"[..]), IVec::from(&b"b\0\x02"[..])]);
    }
}
