/* See shim.h: out-of-line copies of DPDK's static inline functions. */
#include <rte_errno.h>
#include <rte_ethdev.h>
#include <rte_lcore.h>
#include <rte_mbuf.h>

#include "shim.h"

uint16_t tern_eth_rx_burst(uint16_t port, uint16_t queue, struct rte_mbuf **pkts, uint16_t n)
{
	return rte_eth_rx_burst(port, queue, pkts, n);
}

uint16_t tern_eth_tx_burst(uint16_t port, uint16_t queue, struct rte_mbuf **pkts, uint16_t n)
{
	return rte_eth_tx_burst(port, queue, pkts, n);
}

struct rte_mbuf *tern_pktmbuf_alloc(struct rte_mempool *pool)
{
	return rte_pktmbuf_alloc(pool);
}

int tern_pktmbuf_alloc_bulk(struct rte_mempool *pool, struct rte_mbuf **mbufs, unsigned n)
{
	return rte_pktmbuf_alloc_bulk(pool, mbufs, n);
}

void tern_pktmbuf_free(struct rte_mbuf *m)
{
	rte_pktmbuf_free(m);
}

void tern_pktmbuf_free_bulk(struct rte_mbuf **mbufs, unsigned n)
{
	rte_pktmbuf_free_bulk(mbufs, n);
}

char *tern_pktmbuf_append(struct rte_mbuf *m, uint16_t len)
{
	return rte_pktmbuf_append(m, len);
}

uint8_t *tern_pktmbuf_mtod(struct rte_mbuf *m)
{
	return rte_pktmbuf_mtod(m, uint8_t *);
}

uint16_t tern_pktmbuf_data_len(const struct rte_mbuf *m)
{
	return m->data_len;
}

uint32_t tern_pktmbuf_pkt_len(const struct rte_mbuf *m)
{
	return m->pkt_len;
}

uint16_t tern_pktmbuf_tailroom(const struct rte_mbuf *m)
{
	return rte_pktmbuf_tailroom(rte_pktmbuf_lastseg((struct rte_mbuf *)m));
}

const void *tern_pktmbuf_read(const struct rte_mbuf *m, uint32_t off, uint32_t len, void *buf)
{
	return rte_pktmbuf_read(m, off, len, buf);
}

uint64_t tern_pktmbuf_ol_flags(const struct rte_mbuf *m)
{
	return m->ol_flags;
}

unsigned tern_lcore_id(void)
{
	return rte_lcore_id();
}

int tern_errno(void)
{
	return rte_errno;
}
