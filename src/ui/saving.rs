//! Saving a transcript: one save at a time, through the file dialog or, where no dialog can
//! open, straight into the documents folder; the outcome becomes the status bar's line.
//!
//! The writing happens on the runtime (`bridge::Backend`); the window only polls the promise.

use poll_promise::Promise;

use super::i18n::Lang;
use super::log::Log;
use crate::bridge::{Backend, SaveOutcome, Waker};

/// Where a save goes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Destination {
    /// The file dialog picks the path.
    Dialog,
    /// The documents folder, under the dialog's suggested name (no dialog could open).
    Documents,
}

/// What a finished save means for the window.
#[derive(Debug, PartialEq, Eq)]
pub enum Finished {
    /// Nothing to say (the user cancelled).
    Quiet,
    /// A status line, and whether it is an error.
    Status(String, bool),
    /// No dialog could open: say so and offer the documents folder.
    NoDialog(String),
}

/// The save in progress, if any.
#[derive(Default)]
pub struct Saving(Option<Promise<SaveOutcome>>);

impl Saving {
    /// Whether a save is running.
    pub fn busy(&self) -> bool {
        self.0.is_some()
    }

    /// Starts saving `log` (whose session started at `started`, Unix ms) unless a save is
    /// running; returns the status line to show meanwhile.
    pub fn start(
        &mut self,
        backend: &Backend,
        lang: Lang,
        (log, started): (&Log, u64),
        to: Destination,
        wake: Waker,
    ) -> Option<String> {
        if self.busy() {
            return None;
        }
        let (dialog, render) = (lang.save_dialog(started), log.renderer());
        self.0 = Some(match to {
            Destination::Dialog => backend.save_transcript(dialog, render, wake),
            Destination::Documents => backend.save_to_documents(&dialog.file_name, render, wake),
        });
        Some(lang.s().saving.to_owned())
    }

    /// The outcome, once the save ended.
    pub fn poll(&mut self, lang: Lang) -> Option<Finished> {
        let promise = self.0.take()?;
        let outcome = match promise.try_take() {
            Err(promise) => {
                self.0 = Some(promise);
                return None;
            }
            Ok(outcome) => outcome,
        };
        Some(match outcome {
            SaveOutcome::Cancelled => Finished::Quiet,
            SaveOutcome::NoDialog => Finished::NoDialog(lang.s().no_dialog.to_owned()),
            SaveOutcome::Saved(path) => {
                Finished::Status(lang.saved_to(&path.display().to_string()), false)
            }
            SaveOutcome::Failed(why) => Finished::Status(lang.save_failed(&why), true),
        })
    }
}
