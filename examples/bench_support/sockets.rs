//! Which TCP connections this process holds open, and how many bytes each has received: how
//! bench/run.sh measures `connections_per_member` without a hook in the library (`RunningApp`
//! does not expose its members' `Fetcher`s). Linux only: `/proc/self/fd` lists the sockets,
//! `getsockopt(TCP_INFO)` gives each one's state and `tcpi_bytes_received`.

use std::mem::{size_of, MaybeUninit};
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr};

/// One established TCP connection of this process.
#[derive(Debug, Clone)]
pub struct OpenConnection {
    pub peer: SocketAddr,
    pub bytes_received: u64,
}

/// A connection carries fetch data if it received at least this share of all the bytes the
/// process received. Fetched records dwarf everything else (OffsetCommit, Heartbeat and
/// JoinGroup responses are tens of bytes each): at 1 M records the coordinator connections
/// receive well under 1 % of the total, while even one connection per partition of 6 (rskafka's
/// model) gives each ~17 %.
pub const DATA_SHARE: f64 = 0.02;

/// `TCP_ESTABLISHED` of linux/include/net/tcp_states.h (libc does not export the TCP states).
const TCP_ESTABLISHED: u8 = 1;

/// Every established TCP connection of this process, now.
pub fn open_connections() -> Vec<OpenConnection> {
    let Ok(entries) = std::fs::read_dir("/proc/self/fd") else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for entry in entries.flatten() {
        let Some(fd) = entry
            .file_name()
            .to_str()
            .and_then(|n| n.parse::<i32>().ok())
        else {
            continue;
        };
        let is_socket = std::fs::read_link(entry.path())
            .is_ok_and(|target| target.to_string_lossy().starts_with("socket:"));
        if is_socket {
            out.extend(established(fd));
        }
    }
    out
}

fn established(fd: i32) -> Option<OpenConnection> {
    // SAFETY: getsockopt/getpeername only write into the buffers passed with their lengths; an
    // fd that is not a TCP socket (or was closed meanwhile) makes them fail, and it is skipped.
    unsafe {
        let mut info = MaybeUninit::<libc::tcp_info>::zeroed();
        let mut len = size_of::<libc::tcp_info>() as libc::socklen_t;
        let got = libc::getsockopt(
            fd,
            libc::IPPROTO_TCP,
            libc::TCP_INFO,
            info.as_mut_ptr().cast(),
            &mut len,
        );
        if got != 0 {
            return None;
        }
        let info = info.assume_init();
        if info.tcpi_state != TCP_ESTABLISHED {
            return None;
        }
        let mut addr = MaybeUninit::<libc::sockaddr_storage>::zeroed();
        let mut len = size_of::<libc::sockaddr_storage>() as libc::socklen_t;
        if libc::getpeername(fd, addr.as_mut_ptr().cast(), &mut len) != 0 {
            return None;
        }
        let addr = addr.assume_init();
        let peer = match addr.ss_family as i32 {
            libc::AF_INET => {
                let v4 = &*(&addr as *const libc::sockaddr_storage).cast::<libc::sockaddr_in>();
                SocketAddr::new(
                    Ipv4Addr::from(u32::from_be(v4.sin_addr.s_addr)).into(),
                    u16::from_be(v4.sin_port),
                )
            }
            libc::AF_INET6 => {
                let v6 = &*(&addr as *const libc::sockaddr_storage).cast::<libc::sockaddr_in6>();
                SocketAddr::new(
                    Ipv6Addr::from(v6.sin6_addr.s6_addr).into(),
                    u16::from_be(v6.sin6_port),
                )
            }
            _ => return None,
        };
        Some(OpenConnection {
            peer,
            bytes_received: info.tcpi_bytes_received,
        })
    }
}

/// The line bench/run.sh parses: `CONNECTIONS open=T data=D received=b1,b2,…` — T established
/// TCP connections (the process talks to nothing but Kafka), D of them carrying fetch data (see
/// [`DATA_SHARE`]), and every connection's received bytes, largest first.
pub fn connections_line() -> String {
    let mut connections = open_connections();
    connections.sort_by_key(|c| std::cmp::Reverse(c.bytes_received));
    let total: u64 = connections.iter().map(|c| c.bytes_received).sum();
    let data = connections
        .iter()
        .filter(|c| total > 0 && c.bytes_received as f64 >= DATA_SHARE * total as f64)
        .count();
    let received: Vec<String> = connections
        .iter()
        .map(|c| format!("{}@{}", c.bytes_received, c.peer))
        .collect();
    format!(
        "CONNECTIONS open={} data={data} received={}",
        connections.len(),
        received.join(",")
    )
}
