//! Bounded status text. Kubernetes caps a condition message at 32768 bytes and the apiserver
//! refuses the whole status write (422) when one is longer, so every message the controller
//! writes goes through here: lists show the first [`LIST_ITEMS`] entries and then "and N more",
//! and the finished message is cut at a byte cap on a character boundary.

/// Entries a message lists before it summarises the rest as "and N more".
pub const LIST_ITEMS: usize = 5;
/// Byte cap of a route `status.parents[].conditions[].message`.
pub const ROUTE_MESSAGE_BYTES: usize = 1024;
/// Byte cap of a TenantGateway condition message.
pub const CONDITION_MESSAGE_BYTES: usize = 4096;
/// Appended when a message was cut.
pub const ELLIPSIS: &str = " …";

/// `a, b, c, d, e and 3 more` — at most `max` items, then the count of the rest.
pub fn list<I, S>(items: I, max: usize) -> String
where
    I: IntoIterator<Item = S>,
    S: AsRef<str>,
{
    join(items, max, ", ")
}

/// [`list`] with another separator (`"; "` for items that contain commas).
pub fn join<I, S>(items: I, max: usize, sep: &str) -> String
where
    I: IntoIterator<Item = S>,
    S: AsRef<str>,
{
    let mut shown: Vec<String> = Vec::new();
    let mut rest = 0usize;
    for item in items {
        if shown.len() < max {
            shown.push(item.as_ref().to_owned());
        } else {
            rest += 1;
        }
    }
    let joined = shown.join(sep);
    match (rest, shown.is_empty()) {
        (0, _) => joined,
        (n, true) => format!("{n} more"),
        (n, false) => format!("{joined} and {n} more"),
    }
}

/// [`list`] with the default [`LIST_ITEMS`].
pub fn few<I, S>(items: I) -> String
where
    I: IntoIterator<Item = S>,
    S: AsRef<str>,
{
    list(items, LIST_ITEMS)
}

/// `msg` cut to at most `max_bytes` bytes on a character boundary, ending in [`ELLIPSIS`] when
/// it was cut.
pub fn cap(msg: &str, max_bytes: usize) -> String {
    if msg.len() <= max_bytes {
        return msg.to_owned();
    }
    let mut end = max_bytes.saturating_sub(ELLIPSIS.len());
    while end > 0 && !msg.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}{ELLIPSIS}", &msg[..end])
}

/// A route status message, capped at [`ROUTE_MESSAGE_BYTES`].
pub fn route_message(msg: &str) -> String {
    cap(msg, ROUTE_MESSAGE_BYTES)
}

/// A TenantGateway condition message, capped at [`CONDITION_MESSAGE_BYTES`].
pub fn condition_message(msg: &str) -> String {
    cap(msg, CONDITION_MESSAGE_BYTES)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rstest::rstest;

    #[rstest]
    #[case::empty(vec![], 5, "")]
    #[case::one(vec!["a"], 5, "a")]
    #[case::exactly_max(vec!["a", "b", "c"], 3, "a, b, c")]
    #[case::one_over(vec!["a", "b", "c", "d"], 3, "a, b, c and 1 more")]
    #[case::many_over(vec!["a", "b", "c", "d", "e", "f", "g"], 2, "a, b and 5 more")]
    #[case::zero_shown(vec!["a", "b"], 0, "2 more")]
    fn lists(#[case] items: Vec<&str>, #[case] max: usize, #[case] want: &str) {
        assert_eq!(list(items, max), want);
    }

    #[test]
    fn join_with_another_separator() {
        assert_eq!(join(["a, x", "b", "c"], 2, "; "), "a, x; b and 1 more");
    }

    #[rstest]
    #[case::short("hello", 10, "hello")]
    #[case::exact("0123456789", 10, "0123456789")]
    #[case::cut_ascii("0123456789ab", 10, "012345 …")]
    // "é" is two bytes: a cut inside it moves back to the boundary before it.
    #[case::cut_multibyte("aaaaaééé", 10, "aaaaa …")]
    #[case::tiny_cap("0123456789", 2, " …")]
    fn caps(#[case] msg: &str, #[case] max: usize, #[case] want: &str) {
        let got = cap(msg, max);
        assert_eq!(got, want);
        assert!(got.len() <= max.max(ELLIPSIS.len()));
    }

    #[test]
    fn caps_are_well_under_the_api_limit() {
        assert_eq!((ROUTE_MESSAGE_BYTES, CONDITION_MESSAGE_BYTES), (1024, 4096));
        let long = "x".repeat(40_000);
        assert_eq!(route_message(&long).len(), ROUTE_MESSAGE_BYTES);
        assert_eq!(condition_message(&long).len(), CONDITION_MESSAGE_BYTES);
    }
}
