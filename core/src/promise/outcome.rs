//! What a reaction may return ([`IntoPromise`], [`Resolution`]) and the failures the promise
//! layer itself produces ([`Failure`]).

use alloc::string::String;
use core::fmt;

use super::Promise;

/// A rejection produced by the promise machinery rather than by user code. Every promise error
/// type converts from it (`E: From<Failure>`), because any promise can meet one of these.
#[derive(Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Failure {
    /// A reaction (or a `promisify` closure) panicked; the message, if the payload was a string.
    Panicked(Option<String>),
    /// A promise was resolved with itself (JS: a `TypeError` "chaining cycle").
    Cycle,
    /// Nothing can settle the promise any more: its resolver was dropped unused, or the reaction
    /// that would have settled it was dropped unrun (its loop terminated).
    Abandoned,
    /// The loop terminated while the promise was pending (the registry's reject-all).
    Terminated,
}

impl Failure {
    /// The failure for a caught panic payload (`Box<dyn Any + Send>`).
    #[cfg(feature = "std")]
    pub fn from_panic(payload: &(dyn core::any::Any + Send)) -> Self {
        Self::Panicked(panic_message(payload).map(String::from))
    }
}

#[cfg(feature = "std")]
/// The message of a panic payload, when it is a string (`panic!` with a literal or a format).
pub(crate) fn panic_message(payload: &(dyn core::any::Any + Send)) -> Option<&str> {
    payload
        .downcast_ref::<&str>()
        .copied()
        .or_else(|| payload.downcast_ref::<String>().map(String::as_str))
}

impl fmt::Debug for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Panicked(Some(message)) => write!(f, "a reaction panicked: {message}"),
            Self::Panicked(None) => f.write_str("a reaction panicked"),
            Self::Cycle => f.write_str("chaining cycle: a promise was resolved with itself"),
            Self::Abandoned => f.write_str("the promise can no longer be settled"),
            Self::Terminated => f.write_str("the event loop terminated"),
        }
    }
}

impl core::error::Error for Failure {}

/// How a reaction settles its derived promise: with an outcome, or by adopting another promise
/// (JS: returning a thenable).
pub enum Resolution<T, E> {
    /// Settle with this outcome.
    Settle(Result<T, E>),
    /// Take the outcome of this promise when it settles (two microtask hops later, as in JS).
    Adopt(Promise<T, E>),
}

impl<T, E> fmt::Debug for Resolution<T, E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Settle(Ok(_)) => f.write_str("Settle(Ok(..))"),
            Self::Settle(Err(_)) => f.write_str("Settle(Err(..))"),
            Self::Adopt(_) => f.write_str("Adopt(..)"),
        }
    }
}

/// What a `then`/`catch`/`finally` callback may return: a `Result` (settle with it) or a
/// [`Promise`] (adopt it), or a [`Resolution`].
pub trait IntoPromise<E> {
    /// The value type of the derived promise.
    type Output;
    /// Converts into a [`Resolution`].
    fn into_resolution(self) -> Resolution<Self::Output, E>;
}

impl<T, E> IntoPromise<E> for Result<T, E> {
    type Output = T;
    fn into_resolution(self) -> Resolution<T, E> {
        Resolution::Settle(self)
    }
}

impl<T, E> IntoPromise<E> for Promise<T, E> {
    type Output = T;
    fn into_resolution(self) -> Resolution<T, E> {
        Resolution::Adopt(self)
    }
}

impl<T, E> IntoPromise<E> for Resolution<T, E> {
    type Output = T;
    fn into_resolution(self) -> Resolution<T, E> {
        self
    }
}
