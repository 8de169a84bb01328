//! What every framework adapter declares alike, written once: the `Auth` and `OptionalAuth`
//! extractor types and the `AuthRejection` error, with their impls. An adapter calls
//! [`adapter_types!`](crate::adapter_types) and adds only its framework's traits.

/// Declares, in the calling adapter crate, `Auth<T, P>`, `OptionalAuth<T, P>` and
/// `AuthRejection` with their `Clone`, `Debug`, `Deref`, `From`, `Display` and `Error` impls.
/// For adapter crates; not part of the stable API.
///
/// `$krate` names the adapter (for the doc examples, which must re-export `Auth`,
/// `CognitoToken`, `Policy`, `Require`, `AuthError`, `AuthRejection`, `ErrorKind`, `AnyUser`
/// and `Rejection`); `$optional` is the sentence saying why its `OptionalAuth` exists, and
/// `$rejection` the first paragraph of `AuthRejection`'s docs.
#[doc(hidden)]
#[macro_export]
macro_rules! adapter_types {
    (krate: $krate:ident, optional: $optional:literal, rejection: $rejection:literal $(,)?) => {
        /// Required authentication: the verified claims `T` (a [`CognitoToken`] by default),
        /// under route policy `P` ([`AnyUser`] by default).
        ///
        /// Dereferences to the claims: `user.username()`, `user.sub`. [`Auth::into_inner`]
        /// gives them up. `Clone` and `Debug` ask nothing of `P`, so a bare `struct Admins;`
        /// marker will do.
        ///
        /// ```
        #[doc = concat!("use ", stringify!($krate), "::{Auth, CognitoToken, Policy, Require};")]
        ///
        /// struct Admins;
        /// impl Policy for Admins {
        ///     const REQUIRE: Require<'static> = Require::NONE.any_group(&["admin"]);
        /// }
        ///
        /// fn assert_clone_debug<T: Clone + std::fmt::Debug>() {}
        /// assert_clone_debug::<Auth<CognitoToken, Admins>>();
        /// ```
        #[must_use]
        pub struct Auth<T = $crate::CognitoToken, P = $crate::AnyUser>(
            pub T,
            pub ::core::marker::PhantomData<fn() -> P>,
        );

        /// Optional authentication: the verified claims `T`, or `None` when the request
        /// carries no token at all, under route policy `P`.
        #[doc = $optional]
        ///
        /// Dereferences to `Option<T>`: `user.is_some()`, `user.as_ref()`. `Clone` and `Debug`
        /// ask nothing of `P`.
        #[must_use]
        pub struct OptionalAuth<T = $crate::CognitoToken, P = $crate::AnyUser>(
            pub ::core::option::Option<T>,
            pub ::core::marker::PhantomData<fn() -> P>,
        );

        impl<T, P> Auth<T, P> {
            /// The claims.
            pub fn into_inner(self) -> T {
                self.0
            }
        }

        impl<T, P> OptionalAuth<T, P> {
            /// The claims, if the request carried a token.
            pub fn into_inner(self) -> ::core::option::Option<T> {
                self.0
            }
        }

        impl<T: ::core::clone::Clone, P> ::core::clone::Clone for Auth<T, P> {
            fn clone(&self) -> Self {
                Auth(self.0.clone(), ::core::marker::PhantomData)
            }
        }

        impl<T: ::core::clone::Clone, P> ::core::clone::Clone for OptionalAuth<T, P> {
            fn clone(&self) -> Self {
                OptionalAuth(self.0.clone(), ::core::marker::PhantomData)
            }
        }

        impl<T: ::core::fmt::Debug, P> ::core::fmt::Debug for Auth<T, P> {
            fn fmt(&self, f: &mut ::core::fmt::Formatter<'_>) -> ::core::fmt::Result {
                f.debug_tuple("Auth").field(&self.0).finish()
            }
        }

        impl<T: ::core::fmt::Debug, P> ::core::fmt::Debug for OptionalAuth<T, P> {
            fn fmt(&self, f: &mut ::core::fmt::Formatter<'_>) -> ::core::fmt::Result {
                f.debug_tuple("OptionalAuth").field(&self.0).finish()
            }
        }

        impl<T, P> ::core::ops::Deref for Auth<T, P> {
            type Target = T;
            fn deref(&self) -> &T {
                &self.0
            }
        }

        impl<T, P> ::core::ops::DerefMut for Auth<T, P> {
            fn deref_mut(&mut self) -> &mut T {
                &mut self.0
            }
        }

        impl<T, P> ::core::ops::Deref for OptionalAuth<T, P> {
            type Target = ::core::option::Option<T>;
            fn deref(&self) -> &::core::option::Option<T> {
                &self.0
            }
        }

        impl<T, P> ::core::ops::DerefMut for OptionalAuth<T, P> {
            fn deref_mut(&mut self) -> &mut ::core::option::Option<T> {
                &mut self.0
            }
        }

        #[doc = $rejection]
        ///
        /// As an error, its `Display` is one line with the status and the `error` code; its
        /// [`source`](std::error::Error::source) is the [`Rejection`], which says why.
        ///
        /// ```
        /// use std::error::Error as _;
        #[doc = concat!("use ", stringify!($krate), "::{AuthError, AuthRejection, ErrorKind};")]
        ///
        /// let refusal = AuthRejection::from(AuthError::new(ErrorKind::Expired));
        /// assert_eq!(refusal.to_string(), "authentication refused: 401 expired");
        /// assert!(refusal.source().is_some());
        /// ```
        #[derive(Debug, Clone)]
        pub struct AuthRejection(pub $crate::Rejection);

        impl ::core::convert::From<$crate::Rejection> for AuthRejection {
            fn from(rejection: $crate::Rejection) -> Self {
                AuthRejection(rejection)
            }
        }

        impl ::core::convert::From<$crate::AuthError> for AuthRejection {
            fn from(error: $crate::AuthError) -> Self {
                AuthRejection($crate::Rejection::Auth(error))
            }
        }

        impl ::core::fmt::Display for AuthRejection {
            fn fmt(&self, f: &mut ::core::fmt::Formatter<'_>) -> ::core::fmt::Result {
                f.write_str(&self.0.summary())
            }
        }

        impl ::std::error::Error for AuthRejection {
            fn source(&self) -> ::core::option::Option<&(dyn ::std::error::Error + 'static)> {
                ::core::option::Option::Some(&self.0)
            }
        }
    };
}

#[cfg(test)]
mod tests {
    //! The generated types, tested once for every adapter.
    #![allow(unreachable_pub)]

    use std::error::Error as _;

    use crate::{AnyUser, AuthError, CognitoToken, ErrorKind, Policy, Rejection, Require};

    crate::adapter_types!(krate: cognito_core, optional: "", rejection: "");

    struct Admins;
    impl Policy for Admins {
        const REQUIRE: Require<'static> = Require::NONE.any_group(&["admin"]);
    }

    fn assert_clone_debug<T: Clone + std::fmt::Debug>() {}
    fn assert_send_sync<T: Send + Sync>() {}

    #[test]
    fn extractors_with_a_bare_marker_are_clone_and_debug() {
        assert_clone_debug::<Auth<CognitoToken, Admins>>();
        assert_clone_debug::<OptionalAuth<CognitoToken, Admins>>();
        assert_clone_debug::<Auth<CognitoToken, AnyUser>>();
        // The marker is never stored: a marker that is neither Send nor Sync changes nothing.
        assert_send_sync::<Auth<CognitoToken, std::rc::Rc<()>>>();
        assert_send_sync::<OptionalAuth<CognitoToken, std::rc::Rc<()>>>();
    }

    #[test]
    fn debug_shows_the_claims_only() {
        let auth: Auth<u32, Admins> = Auth(7, std::marker::PhantomData);
        assert_eq!(format!("{:?}", auth.clone()), "Auth(7)");
        let optional: OptionalAuth<u32, Admins> = OptionalAuth(None, std::marker::PhantomData);
        assert_eq!(format!("{:?}", optional.clone()), "OptionalAuth(None)");
    }

    #[test]
    fn deref_reaches_the_claims() {
        let mut auth: Auth<String, Admins> = Auth("alice".to_owned(), std::marker::PhantomData);
        auth.push('!');
        assert_eq!(auth.len(), 6);
        assert_eq!(auth.into_inner(), "alice!");
        let mut optional: OptionalAuth<String> = OptionalAuth(None, std::marker::PhantomData);
        assert!(optional.is_none());
        *optional = Some("bob".to_owned());
        assert_eq!(optional.as_deref(), Some("bob"));
        assert_eq!(optional.into_inner().as_deref(), Some("bob"));
    }

    #[test]
    fn rejection_is_an_error_whose_source_is_the_core_rejection() {
        let rejection = Rejection::Misconfigured("no state".to_owned());
        let refusal = AuthRejection::from(rejection.clone());
        assert_eq!(refusal.to_string(), "authentication refused: 500 server_misconfigured");
        let source = refusal.source().map(ToString::to_string);
        assert_eq!(source, Some(rejection.to_string()));
        let refusal = AuthRejection::from(AuthError::new(ErrorKind::MissingToken));
        assert_eq!(refusal.to_string(), "authentication refused: 401 missing_token");
    }
}
