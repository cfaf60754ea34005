//! Cleaning: pages, attachments and text files into a [`crate::document::Document`].

pub mod text;
