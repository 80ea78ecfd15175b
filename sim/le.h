/*
 * le.h - storing integers as the guest's little-endian bytes, whatever the host's order: the
 * structures a model writes into guest memory (vcpu_runstate_info, VFIO capability chains).
 */
#ifndef HV_SIM_LE_H
#define HV_SIM_LE_H

#include <stdint.h>

static inline void hv_put_le(uint8_t *p, uint64_t v, unsigned bytes)
{
    for (unsigned i = 0; i < bytes; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static inline void hv_put16(uint8_t *p, uint16_t v) { hv_put_le(p, v, 2); }
static inline void hv_put32(uint8_t *p, uint32_t v) { hv_put_le(p, v, 4); }
static inline void hv_put64(uint8_t *p, uint64_t v) { hv_put_le(p, v, 8); }

#endif
