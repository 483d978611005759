//! Scopes granted by a token and scopes a route requires.

use std::fmt;

/// The scopes a token grants, normalised once at validation: read from
/// `scope` (space-separated), else `scp` (array or space-separated string),
/// else `permissions` (array), de-duplicated and sorted.
#[derive(Clone, Default, PartialEq, Eq, Hash)]
pub struct Scopes {
    /// The names, sorted, one after the other: one allocation for all of
    /// them (this is built for every token verified).
    text: Box<str>,
    /// Where each name ends in `text`.
    ends: Box<[usize]>,
}

impl Scopes {
    /// Scopes from any list of names (duplicates and empty names dropped).
    pub fn new<I, S>(scopes: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        let scopes: Vec<S> = scopes.into_iter().collect();
        Scopes::from_names(scopes.iter().map(AsRef::as_ref).collect())
    }

    /// Scopes from an OAuth 2.0 `scope` string (RFC 6749 §3.3).
    pub fn from_space_separated(scope: &str) -> Self {
        // Split by hand: `str::split` searches for each space with `memchr`,
        // which costs more than it saves on names this short.
        let mut names = Vec::with_capacity(8);
        let mut start = 0;
        for (at, byte) in scope.bytes().enumerate() {
            if byte == b' ' {
                names.push(&scope[start..at]);
                start = at + 1;
            }
        }
        names.push(&scope[start..]);
        Scopes::from_names(names)
    }

    fn from_names(mut names: Vec<&str>) -> Self {
        names.retain(|name| !name.is_empty());
        names.sort_unstable();
        names.dedup();
        let mut text = String::with_capacity(names.iter().map(|name| name.len()).sum());
        let ends = names
            .iter()
            .map(|name| {
                text.push_str(name);
                text.len()
            })
            .collect();
        Scopes { text: text.into_boxed_str(), ends }
    }

    /// Whether the token grants `scope` (exact, case-sensitive).
    pub fn contains(&self, scope: &str) -> bool {
        let (mut low, mut high) = (0, self.len());
        while low < high {
            let middle = low + (high - low) / 2;
            match self.name(middle).cmp(scope) {
                std::cmp::Ordering::Less => low = middle + 1,
                std::cmp::Ordering::Greater => high = middle,
                std::cmp::Ordering::Equal => return true,
            }
        }
        false
    }

    /// The `index`th name.
    fn name(&self, index: usize) -> &str {
        let start = index.checked_sub(1).map_or(0, |previous| self.ends[previous]);
        &self.text[start..self.ends[index]]
    }

    /// The scopes, sorted.
    pub fn iter(&self) -> impl ExactSizeIterator<Item = &str> {
        (0..self.len()).map(|index| self.name(index))
    }

    /// How many scopes the token grants.
    pub fn len(&self) -> usize {
        self.ends.len()
    }

    /// Whether the token grants no scope.
    pub fn is_empty(&self) -> bool {
        self.ends.is_empty()
    }
}

impl fmt::Debug for Scopes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_set().entries(self.iter()).finish()
    }
}

/// What a route requires of a token's scopes.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum ScopeRequirement {
    /// Every one of these scopes.
    AllOf(Box<[Box<str>]>),
    /// At least one of these scopes.
    AnyOf(Box<[Box<str>]>),
}

impl ScopeRequirement {
    /// Requires every scope of `scopes`.
    pub fn all_of<I, S>(scopes: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        ScopeRequirement::AllOf(collect(scopes))
    }

    /// Requires at least one scope of `scopes`.
    pub fn any_of<I, S>(scopes: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        ScopeRequirement::AnyOf(collect(scopes))
    }

    /// Requires the single scope `scope`.
    pub fn scope(scope: &str) -> Self {
        ScopeRequirement::all_of([scope])
    }

    /// Whether `granted` satisfies the requirement.
    pub fn is_met_by(&self, granted: &Scopes) -> bool {
        match self {
            ScopeRequirement::AllOf(needed) => needed.iter().all(|s| granted.contains(s)),
            ScopeRequirement::AnyOf(needed) => needed.iter().any(|s| granted.contains(s)),
        }
    }

    /// The value of the challenge's `scope` attribute: the scopes involved,
    /// space-separated (RFC 6750 §3).
    pub fn scope_attribute(&self) -> String {
        self.names().join(" ")
    }

    fn names(&self) -> Vec<&str> {
        match self {
            ScopeRequirement::AllOf(s) | ScopeRequirement::AnyOf(s) => s.iter().map(|s| &**s).collect(),
        }
    }
}

impl fmt::Display for ScopeRequirement {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let names = self.names();
        match self {
            _ if names.len() == 1 => f.write_str(names[0]),
            ScopeRequirement::AllOf(_) => write!(f, "all of: {}", names.join(", ")),
            ScopeRequirement::AnyOf(_) => write!(f, "one of: {}", names.join(", ")),
        }
    }
}

/// A scope requirement named by a type, for the adapters' route-level
/// extractors (`RequireScopes<Spec>` in axum and actix-web alike).
///
/// ```
/// use tokengate_core::ScopeSpec;
/// /// Either scope lets a client read orders.
/// struct ReadOrders;
/// impl ScopeSpec for ReadOrders {
///     const SCOPES: &'static [&'static str] = &["orders:read", "orders:admin"];
///     const ANY: bool = true;
/// }
/// ```
pub trait ScopeSpec: Send + Sync + 'static {
    /// The scopes involved.
    const SCOPES: &'static [&'static str];
    /// `false` (default): every scope of [`ScopeSpec::SCOPES`] is needed;
    /// `true`: any one of them is enough.
    const ANY: bool = false;

    /// The requirement as a [`ScopeRequirement`].
    fn requirement() -> ScopeRequirement {
        if Self::ANY {
            ScopeRequirement::any_of(Self::SCOPES)
        } else {
            ScopeRequirement::all_of(Self::SCOPES)
        }
    }

    /// Whether `granted` satisfies the requirement (without allocating).
    fn is_met_by(granted: &Scopes) -> bool {
        if Self::ANY {
            Self::SCOPES.iter().any(|scope| granted.contains(scope))
        } else {
            Self::SCOPES.iter().all(|scope| granted.contains(scope))
        }
    }
}

/// Declares scope requirements as types, for the adapters' `RequireScopes`
/// extractors: `all` of the listed scopes (the default), or `any` one.
///
/// ```
/// tokengate_core::scopes! {
///     /// Reading orders needs either scope.
///     pub ReadOrders = any ["orders:read", "orders:admin"];
///     /// Refunds need both.
///     pub Refund = all ["orders:write", "payments"];
///     Admin = ["admin"];
/// }
/// use tokengate_core::{ScopeSpec, Scopes};
/// assert!(ReadOrders::is_met_by(&Scopes::new(["orders:admin"])));
/// assert!(!Refund::is_met_by(&Scopes::new(["orders:write"])));
/// assert!(Admin::is_met_by(&Scopes::new(["admin"])));
/// ```
#[macro_export]
macro_rules! scopes {
    ($($(#[$doc:meta])* $vis:vis $name:ident = $($mode:ident)? [$($scope:expr),+ $(,)?];)+) => {
        $(
            $(#[$doc])*
            #[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
            $vis struct $name;
            impl $crate::ScopeSpec for $name {
                const SCOPES: &'static [&'static str] = &[$($scope),+];
                const ANY: bool = $crate::scopes!(@any $($mode)?);
            }
        )+
    };
    (@any any) => { true };
    (@any all) => { false };
    (@any) => { false };
}

fn collect<I, S>(scopes: I) -> Box<[Box<str>]>
where
    I: IntoIterator<Item = S>,
    S: AsRef<str>,
{
    scopes.into_iter().map(|s| Box::from(s.as_ref())).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalises_once() {
        let scopes = Scopes::from_space_separated("write  read write ");
        assert_eq!(scopes.iter().collect::<Vec<_>>(), ["read", "write"]);
        assert!(scopes.contains("read") && !scopes.contains("Read"));
    }

    #[test]
    fn all_of_and_any_of() {
        let granted = Scopes::new(["a", "b"]);
        assert!(ScopeRequirement::all_of(["a", "b"]).is_met_by(&granted));
        assert!(!ScopeRequirement::all_of(["a", "c"]).is_met_by(&granted));
        assert!(ScopeRequirement::any_of(["c", "b"]).is_met_by(&granted));
        assert!(!ScopeRequirement::any_of(["c", "d"]).is_met_by(&granted));
        assert_eq!(ScopeRequirement::any_of(["x", "y"]).to_string(), "one of: x, y");
    }
}
