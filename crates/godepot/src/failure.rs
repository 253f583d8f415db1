//! How the binary reports failure: one `error:` line that says what failed, an optional
//! `hint:` that says how to fix it, and an exit code that means something.

/// A failure of a command, rendered once by `main`.
#[derive(Debug)]
pub(crate) struct Failure {
    message: String,
    hint: Option<String>,
    /// 2 for usage and configuration mistakes, 1 for everything else.
    code: u8,
}

impl Failure {
    /// The user asked for something that cannot work as configured.
    pub(crate) fn config(message: impl Into<String>) -> Self {
        Failure {
            message: message.into(),
            hint: None,
            code: 2,
        }
    }

    /// Reading or writing failed (the store, a file): exit code 2, like a usage error, for
    /// the ops commands whose 1 means "a finding".
    pub(crate) fn io(message: impl Into<String>) -> Self {
        Failure {
            message: message.into(),
            hint: None,
            code: 2,
        }
    }

    /// Something failed while running.
    pub(crate) fn runtime(message: impl Into<String>) -> Self {
        Failure {
            message: message.into(),
            hint: None,
            code: 1,
        }
    }

    pub(crate) fn hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }

    /// The `error:` line's text.
    pub(crate) fn message(&self) -> &str {
        &self.message
    }

    pub(crate) fn exit_code(&self) -> u8 {
        self.code
    }

    pub(crate) fn render(&self) {
        eprintln!("error: {}", self.message);
        if let Some(hint) = &self.hint {
            eprintln!("hint: {hint}");
        }
    }
}
