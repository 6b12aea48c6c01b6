// The netlink message header (netlink(7)) every netlink socket here speaks — rtnetlink, nf_tables,
// conntrack: its length, message types, request flags and the nested-attribute bit. Pure constants, so
// modules that only build messages need not load the FFI (libc.ts).

/** sizeof(struct nlmsghdr). */
export const NLMSG_HDRLEN = 16;
export const NLMSG_ERROR = 2;
export const NLMSG_DONE = 3;

export const NLM_F_REQUEST = 0x1;
export const NLM_F_ACK = 0x4;
export const NLM_F_DUMP = 0x300;
export const NLM_F_CREATE = 0x400;
export const NLM_F_APPEND = 0x800;

/** Set in an attribute's type when its payload is further attributes. */
export const NLA_F_NESTED = 0x8000;

/** The netlink protocol of nf_tables and conntrack messages (socket(AF_NETLINK, …, NETLINK_NETFILTER)). */
export const NETLINK_NETFILTER = 12;

/** nf_tables over NETLINK_NETFILTER: its subsystem (a message type's high byte) and address families. */
export const NFNL_SUBSYS_NFTABLES = 10;
export const NFT_MSG_GETSETELEM = 13;
export const NFPROTO_INET = 1;
export const NFPROTO_IPV4 = 2;
export const NFPROTO_NETDEV = 5;
export const NFPROTO_IPV6 = 10;
