//! The exit codes iMi and zdrive share, and how an error picks one.
//!
//! - 0: done.
//! - 1 ([`ErrorClass::User`]): the user asked for something that cannot be done as asked; the
//!   message says what to change.
//! - 2: the command line itself is wrong (clap's usage errors).
//! - 3 ([`ErrorClass::Unavailable`]): a dependency (git, the database, Redis, a session, an
//!   LLM provider) is missing or does not answer; trying again later may work.
//! - 4 ([`ErrorClass::Internal`]): something that should not happen.

/// How an error is reported: its exit code and the class of its JSON `error.kind`.
#[derive(Copy, Clone, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorClass {
    /// The user asked for something that cannot be done as asked (exit code 1).
    User,
    /// A dependency is missing or unreachable (exit code 3).
    Unavailable,
    /// Something that should not happen (exit code 4).
    Internal,
}

/// The exit code of a command line clap refused.
pub const USAGE: i32 = 2;

impl ErrorClass {
    /// Returns the process exit code documented for this class.
    pub fn exit_code(self) -> i32 {
        match self {
            ErrorClass::User => 1,
            ErrorClass::Unavailable => 3,
            ErrorClass::Internal => 4,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_codes_are_the_documented_ones() {
        assert_eq!(ErrorClass::User.exit_code(), 1);
        assert_eq!(ErrorClass::Unavailable.exit_code(), 3);
        assert_eq!(ErrorClass::Internal.exit_code(), 4);
        assert_eq!(
            serde_json::to_string(&ErrorClass::Unavailable).unwrap(),
            "\"unavailable\""
        );
    }
}
