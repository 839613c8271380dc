/*
 * Out-of-line wrappers for DPDK's static inline functions (and the per-lcore
 * rte_errno), which bindgen cannot link against. Each is a thin call; the
 * cost is one extra (non-inlined) call per burst or per mbuf.
 */
#ifndef TERN_DPDK_SHIM_H
#define TERN_DPDK_SHIM_H

#include <stdint.h>

struct rte_mbuf;
struct rte_mempool;

/* rte_eth_rx_burst */
uint16_t tern_eth_rx_burst(uint16_t port, uint16_t queue, struct rte_mbuf **pkts, uint16_t n);
/* rte_eth_tx_burst */
uint16_t tern_eth_tx_burst(uint16_t port, uint16_t queue, struct rte_mbuf **pkts, uint16_t n);
/* rte_pktmbuf_alloc: NULL when the pool is empty */
struct rte_mbuf *tern_pktmbuf_alloc(struct rte_mempool *pool);
/* rte_pktmbuf_alloc_bulk: 0 on success, all-or-nothing */
int tern_pktmbuf_alloc_bulk(struct rte_mempool *pool, struct rte_mbuf **mbufs, unsigned n);
/* rte_pktmbuf_free (whole chain) */
void tern_pktmbuf_free(struct rte_mbuf *m);
/* rte_pktmbuf_free_bulk */
void tern_pktmbuf_free_bulk(struct rte_mbuf **mbufs, unsigned n);
/* rte_pktmbuf_append: pointer to `len` new bytes at the end, NULL if no room */
char *tern_pktmbuf_append(struct rte_mbuf *m, uint16_t len);
/* rte_pktmbuf_mtod: first data byte of the first segment */
uint8_t *tern_pktmbuf_mtod(struct rte_mbuf *m);
/* m->data_len: bytes in the first segment */
uint16_t tern_pktmbuf_data_len(const struct rte_mbuf *m);
/* m->pkt_len: bytes in the whole chain */
uint32_t tern_pktmbuf_pkt_len(const struct rte_mbuf *m);
/* rte_pktmbuf_tailroom of the (last) segment */
uint16_t tern_pktmbuf_tailroom(const struct rte_mbuf *m);
/* rte_pktmbuf_read: pointer to `len` bytes at `off`, copied into `buf` if they span segments; NULL if out of range */
const void *tern_pktmbuf_read(const struct rte_mbuf *m, uint32_t off, uint32_t len, void *buf);
/* m->ol_flags */
uint64_t tern_pktmbuf_ol_flags(const struct rte_mbuf *m);
/*
 * rte_flow rule: IPv4 packets to dst_ip (network byte order) with UDP
 * destination port dst_port (host order) go to RX queue `queue`. Returns 0,
 * or a negative errno with *why set to the PMD's explanation.
 */
int tern_flow_udp_to_queue(uint16_t port, uint32_t dst_ip_be, uint16_t dst_port, uint16_t queue, const char **why);
/* rte_lcore_id */
unsigned tern_lcore_id(void);
/* rte_errno of the calling thread */
int tern_errno(void);

#endif
