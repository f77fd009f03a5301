//! `[server] allow_ips`: the client addresses (CIDRs) a router beyond loopback accepts
//! connections from. This machine's own loopback addresses are always admitted, so the
//! desktop window and local tools cannot be locked out.

use std::net::IpAddr;

use ipnet::IpNet;

#[derive(Debug, Clone, Default)]
pub struct AllowList {
    /// Empty: every address.
    nets: Vec<IpNet>,
}

#[derive(Debug, thiserror::Error)]
#[error("server.allow_ips: '{0}' is not an address or a CIDR block (like 192.168.1.0/24)")]
pub struct BadCidr(pub String);

impl AllowList {
    pub fn parse(entries: &[String]) -> Result<Self, BadCidr> {
        let nets = entries
            .iter()
            .map(|e| {
                let e = e.trim();
                e.parse::<IpNet>()
                    .or_else(|_| e.parse::<IpAddr>().map(IpNet::from))
                    .map_err(|_| BadCidr(e.to_owned()))
            })
            .collect::<Result<_, _>>()?;
        Ok(Self { nets })
    }

    pub fn admits(&self, ip: IpAddr) -> bool {
        // An IPv4 client on a dual-stack socket shows as ::ffff:a.b.c.d.
        let ip = ip.to_canonical();
        self.nets.is_empty() || ip.is_loopback() || self.nets.iter().any(|n| n.contains(&ip))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn list(entries: &[&str]) -> AllowList {
        AllowList::parse(&entries.iter().map(|e| (*e).to_owned()).collect::<Vec<_>>()).unwrap()
    }

    #[test]
    fn blocks_and_single_addresses_admit_their_members_only() {
        let l = list(&["192.168.1.0/24", "10.1.2.3", "fd00::/8"]);
        let admits = |ip: &str| l.admits(ip.parse().unwrap());
        assert!(admits("192.168.1.77"));
        assert!(admits("10.1.2.3"));
        assert!(admits("fd12::1"));
        assert!(admits("::ffff:192.168.1.5"));
        assert!(admits("127.0.0.1"), "loopback always");
        assert!(admits("::1"));
        assert!(!admits("192.168.2.1"));
        assert!(!admits("10.1.2.4"));
        assert!(list(&[]).admits("203.0.113.9".parse().unwrap()));
    }

    #[test]
    fn a_bad_entry_is_named() {
        let e = AllowList::parse(&["10.0.0.0/33".into()]).unwrap_err();
        assert!(e.to_string().contains("10.0.0.0/33"));
    }
}
