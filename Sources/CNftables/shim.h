// libnftnl and libmnl for Swift. Only the IPNatNetlink target imports this module.
#ifndef IPNAT_CNFTABLES_SHIM_H
#define IPNAT_CNFTABLES_SHIM_H

#include <sys/socket.h>
// glibc's netinet/in.h must come before the kernel headers: linux/libc-compat.h then leaves
// out the kernel's own in_addr and in6_addr, which Swift would otherwise see twice.
#include <netinet/in.h>
#include <linux/netlink.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nf_tables.h>
#include <libmnl/libmnl.h>
#include <libnftnl/batch.h>
#include <libnftnl/common.h>
#include <libnftnl/table.h>
#include <libnftnl/chain.h>
#include <libnftnl/rule.h>
#include <libnftnl/expr.h>
#include <libnftnl/set.h>
#include <libnftnl/object.h>
#include <libnftnl/gen.h>
#include <libnftnl/udata.h>

// Macros Swift cannot import.
static inline unsigned int ipnat_message_subtype(unsigned int type) { return type & 0xff; }
static inline unsigned int ipnat_message_subsystem(unsigned int type) { return (type >> 8) & 0xff; }

#endif
