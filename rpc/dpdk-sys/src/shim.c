/* See shim.h: out-of-line copies of DPDK's static inline functions. */
#include <string.h>

#include <rte_byteorder.h>
#include <rte_errno.h>
#include <rte_ethdev.h>
#include <rte_flow.h>
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

int tern_flow_udp_to_queue(uint16_t port, uint32_t dst_ip_be, uint16_t dst_port, uint16_t queue, const char **why)
{
	struct rte_flow_attr attr;
	struct rte_flow_item_ipv4 ip_spec, ip_mask;
	struct rte_flow_item_udp udp_spec, udp_mask;
	struct rte_flow_action_queue to_queue;
	struct rte_flow_error error;

	memset(&attr, 0, sizeof attr);
	memset(&ip_spec, 0, sizeof ip_spec);
	memset(&ip_mask, 0, sizeof ip_mask);
	memset(&udp_spec, 0, sizeof udp_spec);
	memset(&udp_mask, 0, sizeof udp_mask);
	memset(&error, 0, sizeof error);
	attr.ingress = 1;
	ip_spec.hdr.dst_addr = dst_ip_be;
	ip_mask.hdr.dst_addr = 0xffffffff;
	udp_spec.hdr.dst_port = rte_cpu_to_be_16(dst_port);
	udp_mask.hdr.dst_port = 0xffff;
	to_queue.index = queue;

	struct rte_flow_item pattern[] = {
		{ .type = RTE_FLOW_ITEM_TYPE_ETH },
		{ .type = RTE_FLOW_ITEM_TYPE_IPV4, .spec = &ip_spec, .mask = &ip_mask },
		{ .type = RTE_FLOW_ITEM_TYPE_UDP, .spec = &udp_spec, .mask = &udp_mask },
		{ .type = RTE_FLOW_ITEM_TYPE_END },
	};
	struct rte_flow_action actions[] = {
		{ .type = RTE_FLOW_ACTION_TYPE_QUEUE, .conf = &to_queue },
		{ .type = RTE_FLOW_ACTION_TYPE_END },
	};
	if (rte_flow_create(port, &attr, pattern, actions, &error) == NULL) {
		*why = error.message ? error.message : "no reason given";
		return rte_errno ? -rte_errno : -1;
	}
	return 0;
}

unsigned tern_lcore_id(void)
{
	return rte_lcore_id();
}

int tern_errno(void)
{
	return rte_errno;
}
