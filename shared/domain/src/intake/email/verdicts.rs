//! What SES says about a received message: its spam and virus verdicts, and whether the
//! domain of the `From` address was authenticated (DMARC pass, or DKIM/SPF pass aligned
//! with that domain). SES puts its own headers on top of the message, so only the *first*
//! occurrence of each is SES's; any further `Authentication-Results` or verdict header
//! lower down could be written by the sender and is ignored.

/// SES's verdicts on one message.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SesVerdicts {
    pub spam_failed: bool,
    pub virus_failed: bool,
    /// The `From` domain passed DMARC, or DKIM or SPF for that same domain.
    pub sender_authenticated: bool,
}

/// The authentication service SES names itself in `Authentication-Results`.
const SES_AUTHSERV: &str = "amazonses.com";

/// Reads the verdicts from `first_header` (the topmost value of a header, by name) for a
/// message whose `From` address is in `from_domain`.
pub fn ses_verdicts<'a>(
    first_header: impl Fn(&str) -> Option<&'a str>,
    from_domain: Option<&str>,
) -> SesVerdicts {
    let failed =
        |name: &str| first_header(name).is_some_and(|v| v.trim().eq_ignore_ascii_case("FAIL"));
    SesVerdicts {
        spam_failed: failed("X-SES-Spam-Verdict"),
        virus_failed: failed("X-SES-Virus-Verdict"),
        sender_authenticated: match (first_header("Authentication-Results"), from_domain) {
            (Some(results), Some(domain)) => authenticated(results, domain),
            _ => false,
        },
    }
}

/// Whether SES's `Authentication-Results` vouch for `from_domain`.
fn authenticated(results: &str, from_domain: &str) -> bool {
    let mut clauses = results.split(';');
    let authserv = clauses.next().unwrap_or_default().trim();
    if !authserv.eq_ignore_ascii_case(SES_AUTHSERV) {
        return false;
    }
    let mut method = "";
    let mut passed = false;
    for clause in clauses {
        for token in clause.split_whitespace() {
            let Some((key, value)) = token.split_once('=') else {
                continue;
            };
            let key = key.to_ascii_lowercase();
            let value = value.trim_matches(|c| c == '"' || c == ';');
            match key.as_str() {
                "spf" | "dkim" | "dmarc" => {
                    method = match key.as_str() {
                        "spf" => "spf",
                        "dkim" => "dkim",
                        _ => "dmarc",
                    };
                    passed = value.eq_ignore_ascii_case("pass");
                }
                "header.from" if method == "dmarc" && passed && aligned(value, from_domain) => {
                    return true;
                }
                "header.i" | "header.d"
                    if method == "dkim"
                        && passed
                        && aligned(value.trim_start_matches('@'), from_domain) =>
                {
                    return true;
                }
                "smtp.mailfrom" | "envelope-from" if method == "spf" && passed => {
                    let domain = value.rsplit_once('@').map_or(value, |(_, d)| d);
                    if aligned(domain, from_domain) {
                        return true;
                    }
                }
                _ => {}
            }
        }
    }
    false
}

/// Relaxed alignment: the same domain, or one a subdomain of the other.
fn aligned(domain: &str, from_domain: &str) -> bool {
    let (a, b) = (
        domain.to_ascii_lowercase(),
        from_domain.to_ascii_lowercase(),
    );
    !a.is_empty() && (a == b || a.ends_with(&format!(".{b}")) || b.ends_with(&format!(".{a}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn verdicts(headers: &[(&'static str, &'static str)], from: &str) -> SesVerdicts {
        ses_verdicts(
            |name| {
                headers
                    .iter()
                    .find(|(n, _)| n.eq_ignore_ascii_case(name))
                    .map(|(_, v)| *v)
            },
            Some(from),
        )
    }

    #[test]
    fn dmarc_or_an_aligned_dkim_or_spf_pass_authenticates() {
        let dmarc = "amazonses.com;\r\n spf=fail (spfCheck: no) client-ip=1.2.3.4; envelope-from=x@other.example;\r\n dkim=fail;\r\n dmarc=pass header.from=zavod.ru;";
        assert!(verdicts(&[("Authentication-Results", dmarc)], "zavod.ru").sender_authenticated);
        let dkim = "amazonses.com; spf=none; dkim=pass header.i=@mail.zavod.ru; dmarc=none header.from=zavod.ru;";
        assert!(verdicts(&[("Authentication-Results", dkim)], "zavod.ru").sender_authenticated);
        let spf = "amazonses.com; spf=pass (spfCheck: ok) client-ip=1.2.3.4; envelope-from=ivan@zavod.ru; helo=mx.zavod.ru; dkim=none; dmarc=none header.from=zavod.ru;";
        assert!(verdicts(&[("Authentication-Results", spf)], "zavod.ru").sender_authenticated);
    }

    #[test]
    fn a_pass_for_another_domain_or_from_another_server_does_not() {
        let other = "amazonses.com; spf=pass envelope-from=x@evil.example; dkim=pass header.i=@evil.example; dmarc=fail header.from=zavod.ru;";
        assert!(!verdicts(&[("Authentication-Results", other)], "zavod.ru").sender_authenticated);
        let forged = "mx.evil.example; dmarc=pass header.from=zavod.ru;";
        assert!(!verdicts(&[("Authentication-Results", forged)], "zavod.ru").sender_authenticated);
        assert!(!verdicts(&[], "zavod.ru").sender_authenticated);
        assert!(!aligned("notzavod.ru", "zavod.ru"));
    }

    #[test]
    fn spam_and_virus_fail_are_read() {
        let v = verdicts(
            &[
                ("X-SES-Spam-Verdict", "FAIL"),
                ("X-SES-Virus-Verdict", "PASS"),
            ],
            "zavod.ru",
        );
        assert!(v.spam_failed);
        assert!(!v.virus_failed);
    }
}
