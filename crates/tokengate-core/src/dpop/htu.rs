//! Comparing a proof's `htu` with the request's URL (RFC 9449 §4.3 check 9):
//! both normalised as RFC 3986 §6.2.2 (syntax) and §6.2.3 (scheme-based)
//! say, query and fragment ignored.
//!
//! Applied: scheme and host to lower case; `%xx` of an unreserved character
//! decoded, every other `%xx` upper-cased; dot segments removed; an empty
//! path made `/`; an empty or default port (80 for `http`, 443 for `https`)
//! dropped. Not applied, because RFC 3986 does not make them equivalences:
//! path case, trailing slashes, empty segments (`//`), IDNA, trailing dots
//! in host names.

/// `uri` normalised for comparison, or `None` when it is not an absolute
/// `http`/`https` URI with a host and without user information (which a
/// sender must not generate, RFC 9110 §4.2.4).
pub(crate) fn normalise(uri: &str) -> Option<String> {
    let (scheme, rest) = uri.split_once("://")?;
    let scheme = scheme.to_ascii_lowercase();
    let default_port = match scheme.as_str() {
        "http" => "80",
        "https" => "443",
        _ => return None,
    };
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (authority, rest) = rest.split_at(authority_end);
    if authority.contains('@') {
        return None;
    }
    let (host, port) = split_port(authority)?;
    if host.is_empty() || !host.bytes().all(|b| b.is_ascii_graphic()) {
        return None;
    }
    let path_end = rest.find(['?', '#']).unwrap_or(rest.len());
    let path = normalise_percent(&rest[..path_end])?;
    let path = remove_dot_segments(&path);

    let mut out = String::with_capacity(uri.len());
    out.push_str(&scheme);
    out.push_str("://");
    out.push_str(&normalise_percent(&host.to_ascii_lowercase())?);
    if !port.is_empty() && port != default_port {
        out.push(':');
        out.push_str(port);
    }
    out.push_str(if path.is_empty() { "/" } else { &path });
    Some(out)
}

/// `host[:port]`, with IPv6 literals in brackets; the port digits only.
fn split_port(authority: &str) -> Option<(&str, &str)> {
    let (host, port) = if authority.starts_with('[') {
        let end = authority.find(']')? + 1;
        match &authority[end..] {
            "" => (&authority[..end], ""),
            rest => (&authority[..end], rest.strip_prefix(':')?),
        }
    } else {
        match authority.rsplit_once(':') {
            Some((host, port)) => (host, port),
            None => (authority, ""),
        }
    };
    if !port.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    // Leading zeros name the same port.
    let port = match port.trim_start_matches('0') {
        "" if !port.is_empty() => "0",
        trimmed => trimmed,
    };
    Some((host, port))
}

/// `%xx` of an unreserved character decoded, every other `%xx` upper case;
/// `None` for a `%` not followed by two hex digits.
fn normalise_percent(text: &str) -> Option<String> {
    let bytes = text.as_bytes();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] != b'%' {
            let next = text[i..].find('%').map_or(text.len(), |at| i + at);
            out.push_str(&text[i..next]);
            i = next;
            continue;
        }
        let hex = bytes.get(i + 1..i + 3)?;
        let value = u8::from_str_radix(std::str::from_utf8(hex).ok()?, 16).ok()?;
        if value.is_ascii_alphanumeric() || matches!(value, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(value));
        } else {
            out.push('%');
            out.push_str(&std::str::from_utf8(hex).ok()?.to_ascii_uppercase());
        }
        i += 3;
    }
    Some(out)
}

/// RFC 3986 §5.2.4.
fn remove_dot_segments(path: &str) -> String {
    let mut input = path;
    let mut output: Vec<&str> = Vec::new();
    while !input.is_empty() {
        if let Some(rest) = input.strip_prefix("../").or_else(|| input.strip_prefix("./")) {
            input = rest;
        } else if input.starts_with("/./") || input == "/." {
            input = if input == "/." { "/" } else { &input[2..] };
        } else if input.starts_with("/../") || input == "/.." {
            input = if input == "/.." { "/" } else { &input[3..] };
            output.pop();
        } else if input == "." || input == ".." {
            input = "";
        } else {
            let start = usize::from(input.starts_with('/'));
            let end = input[start..].find('/').map_or(input.len(), |at| start + at);
            output.push(&input[..end]);
            input = &input[end..];
        }
    }
    output.concat()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn equal_after_normalisation() {
        for (left, right) in [
            ("https://rs.example/r?x=1#f", "https://rs.example/r"),
            ("HTTPS://RS.Example/r", "https://rs.example/r"),
            ("https://rs.example:443/r", "https://rs.example/r"),
            ("https://rs.example:/r", "https://rs.example/r"),
            ("https://rs.example", "https://rs.example/"),
            ("http://example.com:80/~smith/home.html", "http://EXAMPLE.com/%7Esmith/home.html"),
            ("http://EXAMPLE.com:/%7esmith/home.html", "http://example.com/~smith/home.html"),
            ("https://rs.example/caf%c3%a9", "https://rs.example/caf%C3%A9"),
            ("https://rs.example/a/./b/../c", "https://rs.example/a/c"),
            ("https://rs.example:8443/r", "https://rs.example:08443/r"),
            ("http://[::1]:80/r", "http://[::1]/r"),
        ] {
            assert_eq!(normalise(left), normalise(right), "{left} vs {right}");
            assert!(normalise(left).is_some(), "{left}");
        }
    }

    #[test]
    fn different_after_normalisation() {
        for (left, right) in [
            ("http://rs.example/r", "https://rs.example/r"),
            ("https://rs.example:8443/r", "https://rs.example/r"),
            ("http://rs.example:443/r", "http://rs.example/r"),
            ("https://rs.example/R", "https://rs.example/r"),
            ("https://rs.example/r/", "https://rs.example/r"),
            ("https://rs.example/a%2Fb", "https://rs.example/a/b"),
            ("https://rs.example/a//b", "https://rs.example/a/b"),
            ("https://rs.example./r", "https://rs.example/r"),
            ("https://api.rs.example/r", "https://rs.example/r"),
        ] {
            assert_ne!(normalise(left), normalise(right), "{left} vs {right}");
        }
    }

    #[test]
    fn not_absolute_http_uris() {
        for bad in [
            "/r",
            "rs.example/r",
            "ftp://rs.example/r",
            "https://user@rs.example/r",
            "https:///r",
            "https://rs.example:8x/r",
            "https://rs.example/%zz",
            "https://rs.example/%4",
            "https://rs example/r",
        ] {
            assert_eq!(normalise(bad), None, "{bad}");
        }
    }

    #[test]
    fn dot_segments() {
        assert_eq!(remove_dot_segments("/a/b/c/./../../g"), "/a/g");
        assert_eq!(remove_dot_segments("mid/content=5/../6"), "mid/6");
        assert_eq!(remove_dot_segments("/.."), "/");
        assert_eq!(remove_dot_segments("/a/.."), "/");
        assert_eq!(remove_dot_segments("/a//b"), "/a//b");
    }
}
