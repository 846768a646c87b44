//! The process's open-file limit: raised to the hard limit at start, and the share of it
//! HTTP connections may take.

/// File descriptors kept for the database, the mail listener, logs and outbound requests.
const RESERVED: u64 = 256;

/// Raises the soft limit on open files to the hard limit (the common soft default of
/// 1,024 is small for a server). Returns the soft limit in effect afterwards, or `None`
/// where it cannot be read.
pub fn raise_open_file_limit() -> Option<u64> {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit and setrlimit read and write the struct passed, nothing else.
    unsafe {
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) != 0 {
            return None;
        }
        if limit.rlim_cur < limit.rlim_max {
            let raised = libc::rlimit {
                rlim_cur: limit.rlim_max,
                rlim_max: limit.rlim_max,
            };
            if libc::setrlimit(libc::RLIMIT_NOFILE, &raised) == 0 {
                limit = raised;
            } else {
                tracing::warn!(
                    soft = limit.rlim_cur,
                    hard = limit.rlim_max,
                    "cannot raise the open-file limit"
                );
            }
        }
    }
    Some(limit.rlim_cur)
}

/// How many HTTP connections to serve at once: what the operator asked for (or the
/// default), but never so many that sockets could take the descriptors kept for the rest.
pub fn connection_limit(wanted: usize, open_files: Option<u64>) -> usize {
    match open_files {
        None => wanted,
        Some(files) => {
            let room = usize::try_from(files.saturating_sub(RESERVED)).unwrap_or(usize::MAX);
            wanted.min(room).max(16)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn connections_leave_room_for_the_database() {
        assert_eq!(connection_limit(10_000, Some(1_024)), 768);
        assert_eq!(connection_limit(10_000, Some(1_048_576)), 10_000);
        assert_eq!(connection_limit(500, Some(20_000)), 500);
        assert_eq!(connection_limit(10_000, Some(100)), 16);
        assert_eq!(connection_limit(10_000, None), 10_000);
    }

    #[test]
    fn the_soft_limit_ends_at_the_hard_limit() {
        let soft = raise_open_file_limit().expect("the limit can be read");
        let mut limit = libc::rlimit {
            rlim_cur: 0,
            rlim_max: 0,
        };
        // SAFETY: as above.
        assert_eq!(
            unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) },
            0
        );
        assert_eq!(soft, limit.rlim_cur);
        assert_eq!(limit.rlim_cur, limit.rlim_max);
    }
}
