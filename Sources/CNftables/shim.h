// libnftnl and libmnl for Swift, and the few kernel calls Swift cannot make itself. Only the
// IPNatNetlink target imports this module.
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
#include <linux/netfilter/nfnetlink_conntrack.h>
#include <libmnl/libmnl.h>
#include <libnftnl/batch.h>
#include <libnftnl/common.h>
#include <libnftnl/table.h>
#include <libnftnl/chain.h>
#include <libnftnl/rule.h>
#include <libnftnl/expr.h>
#include <libnftnl/set.h>
#include <libnftnl/object.h>
#include <libnftnl/flowtable.h>
#include <libnftnl/gen.h>
#include <libnftnl/udata.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <linux/capability.h>

// Macros Swift cannot import.
static inline unsigned int ipnat_message_subtype(unsigned int type) { return type & 0xff; }
static inline unsigned int ipnat_message_subsystem(unsigned int type) { return (type >> 8) & 0xff; }

// prctl is variadic, which Swift does not import; every option used takes one argument.
static inline int ipnat_prctl(int option, unsigned long argument) { return prctl(option, argument, 0, 0, 0); }

// glibc has no capset(2) wrapper. Capabilities 0-31 only: CAP_NET_ADMIN is 12, and the
// upper word is cleared.
static inline int ipnat_capset(unsigned int effective, unsigned int permitted, unsigned int inheritable) {
  struct __user_cap_header_struct header = { _LINUX_CAPABILITY_VERSION_3, 0 };
  struct __user_cap_data_struct data[2] = { { effective, permitted, inheritable }, { 0, 0, 0 } };
  return (int)syscall(SYS_capset, &header, data);
}

#endif
