/* bugs.c - the rows of models/bugs.def. */
#include "models/bugs.h"

#define HV_BUG_ROW(knob, bad, good, scen, cls, src, cmd, fix) \
    { knob, bad, good, scen, cls, src, cmd, fix },

#include "models/bugs.def"

static const struct hv_bug rows[] = { HV_BUGS(HV_BUG_ROW) };

const struct hv_bug *hv_bugs(size_t *n)
{
    *n = sizeof rows / sizeof rows[0];
    return rows;
}
