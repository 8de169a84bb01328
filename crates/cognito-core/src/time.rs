//! The time rule, the one place it is written: `exp`, `nbf` and `iat` against the clock with
//! the leeway, and a clock that reads before 1970 refused (every pool's tokens, token-cache
//! hits and the load balancers' tokens go through it).

use std::time::{SystemTime, UNIX_EPOCH};

use crate::error::{AuthError, ErrorKind};

/// `iat` may lie this far past now + leeway before the token counts as minted in the future.
pub(crate) const IAT_GRACE_SECS: f64 = 60.0;

/// A token's time claims, as the checks read them.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Times {
    pub(crate) exp: Option<f64>,
    pub(crate) nbf: Option<f64>,
    pub(crate) iat: Option<f64>,
}

impl Times {
    /// The time rule, the one place it is written (full verifications and token-cache hits
    /// both call it), at `now` seconds since the epoch: past `exp` + leeway -> `expired`
    /// (unless `check_expiration` is false), `nbf` later than now + leeway or `iat` later than
    /// now + leeway + [`IAT_GRACE_SECS`] -> `not_yet_valid`.
    pub(crate) fn check(self, now: f64, leeway: f64, check_expiration: bool) -> Result<(), AuthError> {
        if check_expiration && self.exp.is_some_and(|exp| now >= exp + leeway) {
            return Err(ErrorKind::Expired.into());
        }
        if self.nbf.is_some_and(|nbf| nbf > now + leeway) {
            return Err(ErrorKind::NotYetValid.into());
        }
        if self.iat.is_some_and(|iat| iat > now + leeway + IAT_GRACE_SECS) {
            return Err(AuthError::with_message(
                ErrorKind::NotYetValid,
                "The token claims to be issued in the future.",
            ));
        }
        Ok(())
    }
}

/// `clock` as seconds since the epoch. A clock that reads before 1970 is broken, and every
/// answer computed from it would be wrong (no token would ever expire): fail closed.
pub(crate) fn unix_now(clock: SystemTime) -> Result<f64, AuthError> {
    clock.duration_since(UNIX_EPOCH).map(|d| d.as_secs_f64()).map_err(|_| {
        AuthError::with_message(
            ErrorKind::NotYetValid,
            "The server's clock reads before 1970, so no token can be checked.",
        )
        .with_detail("the system clock is set before the Unix epoch")
    })
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    fn kind(r: Result<(), AuthError>) -> Option<ErrorKind> {
        r.err().map(|e| e.kind())
    }

    const NOW: f64 = 1_000_000.0;

    fn times(exp: Option<f64>, nbf: Option<f64>, iat: Option<f64>) -> Times {
        Times { exp, nbf, iat }
    }

    #[test]
    fn exp_with_and_without_leeway() {
        let exp = |at| times(Some(at), None, None);
        assert_eq!(kind(exp(NOW + 1.0).check(NOW, 0.0, true)), None);
        assert_eq!(kind(exp(NOW).check(NOW, 0.0, true)), Some(ErrorKind::Expired));
        assert_eq!(kind(exp(NOW - 1.0).check(NOW, 0.0, true)), Some(ErrorKind::Expired));
        // The leeway extends exp by exactly its length: the boundary is exp + leeway.
        assert_eq!(kind(exp(NOW - 29.0).check(NOW, 30.0, true)), None);
        assert_eq!(kind(exp(NOW - 30.0).check(NOW, 30.0, true)), Some(ErrorKind::Expired));
        assert_eq!(kind(exp(NOW - 31.0).check(NOW, 30.0, true)), Some(ErrorKind::Expired));
        // check_expiration: false skips only exp.
        assert_eq!(kind(exp(NOW - 1e6).check(NOW, 0.0, false)), None);
        assert_eq!(
            kind(times(Some(NOW - 1e6), Some(NOW + 5.0), None).check(NOW, 0.0, false)),
            Some(ErrorKind::NotYetValid)
        );
    }

    #[test]
    fn nbf_with_and_without_leeway() {
        let nbf = |at| times(Some(NOW + 600.0), Some(at), None);
        // A past or present nbf is what every ordinary token has.
        assert_eq!(kind(nbf(NOW - 100.0).check(NOW, 0.0, true)), None);
        assert_eq!(kind(nbf(NOW - 100.0).check(NOW, 30.0, true)), None);
        assert_eq!(kind(nbf(NOW).check(NOW, 0.0, true)), None);
        assert_eq!(kind(nbf(NOW + 1.0).check(NOW, 0.0, true)), Some(ErrorKind::NotYetValid));
        // With leeway: valid up to and including now + leeway.
        assert_eq!(kind(nbf(NOW + 30.0).check(NOW, 30.0, true)), None);
        assert_eq!(
            kind(nbf(NOW + 31.0).check(NOW, 30.0, true)),
            Some(ErrorKind::NotYetValid)
        );
        assert_eq!(kind(nbf(NOW + 29.0).check(NOW, 30.0, true)), None);
    }

    #[test]
    fn iat_from_the_future_with_and_without_leeway() {
        let iat = |at| times(Some(NOW + 600.0), None, Some(at));
        assert_eq!(kind(iat(NOW - 100.0).check(NOW, 0.0, true)), None);
        assert_eq!(kind(iat(NOW + IAT_GRACE_SECS).check(NOW, 0.0, true)), None);
        assert_eq!(
            kind(iat(NOW + IAT_GRACE_SECS + 1.0).check(NOW, 0.0, true)),
            Some(ErrorKind::NotYetValid)
        );
        // The leeway adds to the grace: now + leeway + grace is the last accepted second.
        assert_eq!(kind(iat(NOW + 30.0 + IAT_GRACE_SECS).check(NOW, 30.0, true)), None);
        assert_eq!(
            kind(iat(NOW + 31.0 + IAT_GRACE_SECS).check(NOW, 30.0, true)),
            Some(ErrorKind::NotYetValid)
        );
        let err = iat(NOW + 1e6).check(NOW, 0.0, true).err();
        assert_eq!(
            err.as_ref().map(AuthError::message),
            Some("The token claims to be issued in the future.")
        );
    }

    #[test]
    fn a_clock_before_1970_fails_closed() -> Result<(), &'static str> {
        let before = UNIX_EPOCH
            .checked_sub(Duration::from_secs(1))
            .ok_or("no such instant")?;
        assert_eq!(
            unix_now(before).err().map(|e| (e.kind(), e.status())),
            Some((ErrorKind::NotYetValid, 401))
        );
        assert_eq!(unix_now(UNIX_EPOCH + Duration::from_secs(5)).ok(), Some(5.0));
        Ok(())
    }
}
