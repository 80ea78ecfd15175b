/*
 * draw.c - a timeline drawn with cairo, as SVG or PNG: per VM a lane per vCPU (its slices
 * shaded, its events marked by class), a VMM lane (host steps, answers to exits) and a
 * migration lane (rounds shaded, the switch-over a line across the picture), over the run's
 * instruction clock.
 *
 * A long run has far more events than pixels: a lane draws a slice only where it covers a new
 * pixel (runs of slices closer than a pixel merge) and at most one mark of a class per pixel
 * column, so the picture's size depends on its width, not on the trace's length.
 */
#include <cairo-svg.h>
#include <cairo.h>
#include <fontconfig/fontconfig.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "export/export.h"
#include "sim/hv_err.h"

enum { W = 1400, LEFT = 150, RIGHT = 30, TOP = 58, LANE = 34, VM_HEAD = 24, VM_GAP = 14,
       AXIS = 46, LEGEND = 52 };

/* How an event is marked: its class, colour and shape. */
enum mark_shape { SHAPE_TRIANGLE, SHAPE_DIAMOND, SHAPE_CIRCLE, SHAPE_BAR, SHAPE_CROSS };
struct mark_class {
    const char *label;
    double r, g, b;
    enum mark_shape shape;
    double dy;               /* offset from the lane's middle, so classes at one x all show */
    const char *kinds;       /* space-separated kind names, with spaces around */
};
static const struct mark_class classes[] = {
    { "exit to the VMM", 0.85, 0.15, 0.15, SHAPE_TRIANGLE, -7, " kvm_exit " },
    { "hypercall", 0.10, 0.35, 0.85, SHAPE_DIAMOND, -7,
      " hypercall kvm_hypercall xen_hypercall kvm_smccc " },
    { "continuation leg", 0.95, 0.55, 0.05, SHAPE_CIRCLE, 2, " xen_continuation " },
    { "MMIO / port I/O", 0.55, 0.20, 0.70, SHAPE_BAR, 0, " mmio pio " },
    { "translation (slot, STLB, area)", 0.05, 0.55, 0.55, SHAPE_BAR, 0,
      " kvm_lookup xen_stlb xen_area " },
    { "guest sync / print / done", 0.15, 0.60, 0.20, SHAPE_CIRCLE, 2,
      " ucall_sync ucall_printf ucall_done " },
    { "fault, assertion, halt", 0.10, 0.10, 0.10, SHAPE_CROSS, 0,
      " exception invalid_insn ucall_assert halt " },
};
#define NCLASSES (sizeof classes / sizeof classes[0])

static int class_of(const char *kind)
{
    char key[48];
    snprintf(key, sizeof key, " %s ", kind);
    for (size_t c = 0; c < NCLASSES; c++)
        if (strstr(classes[c].kinds, key))
            return (int)c;
    return -1;
}

struct lane {
    uint32_t vm;
    int32_t track;
    double y;                /* top */
    double slice_x0, slice_x1;   /* the pending merged slice, x1 < 0 for none */
    double last_mark[NCLASSES];  /* pixel column of each class's last mark */
    double last_label;       /* right end of the last text label */
    char last_text[64];      /* the last label's text: a run of the same one is labelled once */
};

struct pic {
    const struct timeline *tl;
    cairo_t *cr;
    struct lane *lanes;
    size_t nlanes;
    double x_scale;          /* pixels per instruction */
    double height;
};

static double xof(const struct pic *p, uint64_t ts)
{
    double x = LEFT + ((double)ts - (double)p->tl->t0) * p->x_scale;
    return x < LEFT ? LEFT : x > W - RIGHT ? W - RIGHT : x;
}

/* Whether an item overlaps the window's time span. */
static bool in_view(const struct pic *p, const struct tl_item *it)
{
    return it->ts <= p->tl->t1 && it->ts + it->dur >= p->tl->t0;
}

static struct lane *lane_of(struct pic *p, uint32_t vm, int32_t track)
{
    for (size_t i = 0; i < p->nlanes; i++)
        if (p->lanes[i].vm == vm && p->lanes[i].track == track)
            return &p->lanes[i];
    return NULL;
}

static void text(cairo_t *cr, double x, double y, double size, bool bold, const char *s)
{
    cairo_select_font_face(cr, "DejaVu Sans", CAIRO_FONT_SLANT_NORMAL,
                           bold ? CAIRO_FONT_WEIGHT_BOLD : CAIRO_FONT_WEIGHT_NORMAL);
    cairo_set_font_size(cr, size);
    cairo_move_to(cr, x, y);
    cairo_show_text(cr, s);
}

static double text_width(cairo_t *cr, double size, const char *s)
{
    cairo_text_extents_t e;
    cairo_select_font_face(cr, "DejaVu Sans", CAIRO_FONT_SLANT_NORMAL, CAIRO_FONT_WEIGHT_NORMAL);
    cairo_set_font_size(cr, size);
    cairo_text_extents(cr, s, &e);
    return e.x_advance;
}

static void shape(cairo_t *cr, const struct mark_class *c, double x, double y)
{
    cairo_set_source_rgb(cr, c->r, c->g, c->b);
    switch (c->shape) {
    case SHAPE_TRIANGLE:
        cairo_move_to(cr, x, y - 5);
        cairo_line_to(cr, x + 4, y + 3);
        cairo_line_to(cr, x - 4, y + 3);
        cairo_close_path(cr);
        cairo_fill(cr);
        break;
    case SHAPE_DIAMOND:
        cairo_move_to(cr, x, y - 5);
        cairo_line_to(cr, x + 4, y);
        cairo_line_to(cr, x, y + 5);
        cairo_line_to(cr, x - 4, y);
        cairo_close_path(cr);
        cairo_fill(cr);
        break;
    case SHAPE_CIRCLE:
        cairo_arc(cr, x, y, 3.2, 0, 2 * M_PI);
        cairo_fill(cr);
        break;
    case SHAPE_BAR:
        cairo_rectangle(cr, x - 1, y - 9, 2, 14);
        cairo_fill(cr);
        break;
    case SHAPE_CROSS:
        cairo_set_line_width(cr, 1.6);
        cairo_move_to(cr, x - 4, y - 4);
        cairo_line_to(cr, x + 4, y + 4);
        cairo_move_to(cr, x + 4, y - 4);
        cairo_line_to(cr, x - 4, y + 4);
        cairo_stroke(cr);
        break;
    }
}

static void flush_slice(struct pic *p, struct lane *l)
{
    if (l->slice_x1 < 0)
        return;
    double w = l->slice_x1 - l->slice_x0;
    cairo_set_source_rgb(p->cr, 0.72, 0.82, 0.95);
    cairo_rectangle(p->cr, l->slice_x0, l->y + 3, w < 1 ? 1 : w, LANE - 6);
    cairo_fill(p->cr);
    l->slice_x1 = -1;
}

/* A vCPU slice: merged with the pending one when it starts within a pixel of its end. */
static void slice(struct pic *p, struct lane *l, const struct tl_item *it)
{
    double x0 = xof(p, it->ts), x1 = xof(p, it->ts + it->dur);
    if (l->slice_x1 >= 0 && x0 <= l->slice_x1 + 1) {
        if (x1 > l->slice_x1)
            l->slice_x1 = x1;
        return;
    }
    flush_slice(p, l);
    l->slice_x0 = x0, l->slice_x1 = x1;
}

/* A lane label when it fits after the previous one. */
static void lane_label(struct pic *p, struct lane *l, double x, const char *s);

static void mark(struct pic *p, struct lane *l, int c, const struct tl_item *it)
{
    double x = floor(xof(p, it->ts)) + 0.5;
    if (l->last_mark[c] == x)
        return;
    l->last_mark[c] = x;
    shape(p->cr, &classes[c], x, l->y + LANE / 2.0 + classes[c].dy);
    lane_label(p, l, x + 4, it->name);
}

static void lane_label(struct pic *p, struct lane *l, double x, const char *s)
{
    if (strncmp(l->last_text, s, sizeof l->last_text - 1) == 0)
        return;
    double w = text_width(p->cr, 9, s);
    if (x + w > W - RIGHT)
        x -= w + 10;                  /* at the right edge: to the left of the mark */
    if (x < l->last_label + 4 || x < LEFT)
        return;
    cairo_set_source_rgb(p->cr, 0.15, 0.15, 0.15);
    text(p->cr, x + 2, l->y + LANE - 3, 9, false, s);
    l->last_label = x + w + 2;
    snprintf(l->last_text, sizeof l->last_text, "%s", s);
}

static void vmm_item(struct pic *p, struct lane *l, const struct tl_item *it)
{
    double x = floor(xof(p, it->ts)) + 0.5;
    bool step = strcmp(it->kind, "step") == 0;
    bool answer = strncmp(it->name, "VMM answers", 11) == 0;
    if (!step && !answer)
        return;
    cairo_set_source_rgb(p->cr, step ? 0.2 : 0.85, step ? 0.2 : 0.15, step ? 0.2 : 0.15);
    cairo_rectangle(p->cr, x - 1, l->y + 3, 2, LANE - 6);
    cairo_fill(p->cr);
    if (step)
        lane_label(p, l, x, it->name + 5);  /* after "step " */
}

static void mig_item(struct pic *p, struct lane *l, const struct tl_item *it, unsigned *round)
{
    double x0 = xof(p, it->ts), x1 = xof(p, it->ts + it->dur);
    if (strcmp(it->kind, "mig_round") == 0) {
        bool odd = (*round)++ % 2;
        cairo_set_source_rgba(p->cr, 0.95, 0.60, 0.10, odd ? 0.30 : 0.55);
        cairo_rectangle(p->cr, x0, l->y + 3, x1 - x0 < 1 ? 1 : x1 - x0, LANE - 6);
        cairo_fill(p->cr);
        char s[32];
        snprintf(s, sizeof s, "r%u", *round - 1);
        lane_label(p, l, x0, s);
    } else if (strcmp(it->kind, "mig_switchover") == 0) {
        double x = floor(x0) + 0.5;
        cairo_set_source_rgb(p->cr, 0.85, 0.40, 0.0);
        cairo_set_line_width(p->cr, 1.5);
        double dash[] = { 5, 3 };
        cairo_set_dash(p->cr, dash, 2, 0);
        cairo_move_to(p->cr, x, TOP - 6);
        cairo_line_to(p->cr, x, p->height - AXIS - LEGEND + 4);
        cairo_stroke(p->cr);
        cairo_set_dash(p->cr, NULL, 0, 0);
        lane_label(p, l, x, "switch-over");
    } else if (strcmp(it->kind, "mig_escaped") == 0) {
        shape(p->cr, &classes[0], floor(x0) + 0.5, l->y + LANE / 2.0);
    }
}

/* Arrows of the migration flows (few), from the source's last round to the switch-over. */
static void flows(struct pic *p)
{
    for (size_t i = 0; i < p->tl->nflows; i++) {
        const struct tl_flow *f = &p->tl->flows[i];
        if (strcmp(f->what, "migration") != 0)
            continue;
        const struct tl_item *a = &p->tl->items[f->from], *b = &p->tl->items[f->to];
        struct lane *la = lane_of(p, a->vm, a->track), *lb = lane_of(p, b->vm, b->track);
        if (!la || !lb)
            continue;
        double x0 = xof(p, a->ts + a->dur), y0 = la->y + LANE / 2.0;
        double x1 = xof(p, b->ts), y1 = lb->y + LANE / 2.0;
        cairo_set_source_rgb(p->cr, 0.85, 0.40, 0.0);
        cairo_set_line_width(p->cr, 1.5);
        cairo_move_to(p->cr, x0, y0);
        cairo_curve_to(p->cr, x0 + 30, y0, x1 - 30, y1, x1, y1);
        cairo_stroke(p->cr);
        cairo_move_to(p->cr, x1, y1);
        cairo_line_to(p->cr, x1 - 7, y1 - 4);
        cairo_line_to(p->cr, x1 - 7, y1 + 4);
        cairo_close_path(p->cr);
        cairo_fill(p->cr);
    }
}

/* 1, 2 or 5 times a power of ten, so that about n ticks span end. */
static uint64_t tick_step(uint64_t end, unsigned n)
{
    uint64_t step = 1;
    while (step * n < end) {
        if (step * 2 * n >= end)
            return step * 2;
        if (step * 5 * n >= end)
            return step * 5;
        step *= 10;
    }
    return step;
}

static void count_text(char *buf, size_t size, uint64_t v)
{
    if (v >= 1000000)
        snprintf(buf, size, "%.4gM", (double)v / 1e6);
    else if (v >= 1000)
        snprintf(buf, size, "%.4gk", (double)v / 1e3);
    else
        snprintf(buf, size, "%" PRIu64, v);
}

static void axis_and_legend(struct pic *p)
{
    uint64_t t0 = p->tl->t0, end = p->tl->t1 - t0;
    cairo_t *cr = p->cr;
    double y = p->height - AXIS - LEGEND + 8;
    cairo_set_source_rgb(cr, 0.2, 0.2, 0.2);
    cairo_set_line_width(cr, 1);
    cairo_move_to(cr, LEFT, y + 0.5);
    cairo_line_to(cr, W - RIGHT, y + 0.5);
    cairo_stroke(cr);
    uint64_t step = tick_step(end ? end : 1, 8);
    for (uint64_t t = (t0 + step - 1) / step * step; t <= t0 + end; t += step) {
        double x = floor(xof(p, t)) + 0.5;
        char s[32];
        count_text(s, sizeof s, t);
        cairo_move_to(cr, x, y);
        cairo_line_to(cr, x, y + 5);
        cairo_stroke(cr);
        text(cr, x - text_width(cr, 10, s) / 2, y + 17, 10, false, s);
        if (t > UINT64_MAX - step)
            break;
    }
    text(cr, LEFT, y + 34, 10, false,
         "instructions retired by all vCPUs (the run's clock; one vCPU runs at a time)");
    double x = LEFT, ly = p->height - LEGEND + 22;
    cairo_set_source_rgb(cr, 0.72, 0.82, 0.95);
    cairo_rectangle(cr, x, ly - 6, 14, 12);
    cairo_fill(cr);
    cairo_set_source_rgb(cr, 0.1, 0.1, 0.1);
    text(cr, x + 18, ly + 4, 10, false, "vCPU running");
    x += 26 + text_width(cr, 10, "vCPU running");
    for (size_t c = 0; c < NCLASSES; c++) {
        shape(cr, &classes[c], x + 5, ly);
        cairo_set_source_rgb(cr, 0.1, 0.1, 0.1);
        text(cr, x + 14, ly + 4, 10, false, classes[c].label);
        x += 28 + text_width(cr, 10, classes[c].label);
        if (x > W - 200 && c + 1 < NCLASSES) {
            x = LEFT;
            ly += 18;
        }
    }
    cairo_set_source_rgba(cr, 0.95, 0.60, 0.10, 0.55);
    cairo_rectangle(cr, x, ly - 6, 14, 12);
    cairo_fill(cr);
    cairo_set_source_rgb(cr, 0.1, 0.1, 0.1);
    text(cr, x + 18, ly + 4, 10, false, "migration round");
}

/* Lanes: per VM its vCPUs, then VMM, then migration when it has items. */
static int layout(struct pic *p)
{
    const struct timeline *tl = p->tl;
    size_t max = 0;
    for (uint32_t vm = 0; vm < tl->nvms; vm++)
        max += tl->vms[vm].nr_vcpus + 2;
    p->lanes = calloc(max ? max : 1, sizeof *p->lanes);
    if (!p->lanes)
        return HV_ENOMEM;
    double y = TOP;
    for (uint32_t vm = 0; vm < tl->nvms; vm++) {
        bool mig = false;
        for (size_t i = 0; i < tl->nitems && !mig; i++)
            mig = tl->items[i].vm == vm && tl->items[i].track == TL_TRACK_MIG;
        y += VM_HEAD;
        for (int32_t t = 0; t < (int32_t)tl->vms[vm].nr_vcpus + 2; t++) {
            int32_t track = t < (int32_t)tl->vms[vm].nr_vcpus ? t
                            : t == (int32_t)tl->vms[vm].nr_vcpus ? TL_TRACK_VMM : TL_TRACK_MIG;
            if (track == TL_TRACK_MIG && !mig)
                continue;
            struct lane *l = &p->lanes[p->nlanes++];
            *l = (struct lane){ .vm = vm, .track = track, .y = y, .slice_x1 = -1,
                                .last_label = -1e9 };
            for (size_t c = 0; c < NCLASSES; c++)
                l->last_mark[c] = -1;
            y += LANE;
        }
        y += VM_GAP;
    }
    p->height = y + AXIS + LEGEND;
    return 0;
}

static void frame(struct pic *p)
{
    const struct timeline *tl = p->tl;
    cairo_t *cr = p->cr;
    cairo_set_source_rgb(cr, 1, 1, 1);
    cairo_paint(cr);
    char title[512];
    snprintf(title, sizeof title, "%s", tl->scenario ? tl->scenario : "(unnamed run)");
    cairo_set_source_rgb(cr, 0.05, 0.05, 0.05);
    text(cr, 12, 24, 15, true, title);
    int n = snprintf(title, sizeof title, "%s, %s model, outcome %s: %" PRIu64 " events, %"
                     PRIu64 " instructions", tl->arch ? tl->arch : "?",
                     tl->model ? tl->model : "?", tl->outcome ? tl->outcome : "?", tl->events,
                     tl->end);
    if (tl->from > 0 || tl->to < UINT64_MAX)
        snprintf(title + n, sizeof title - (size_t)n, "; events %" PRIu64 "..%" PRIu64 " shown",
                 tl->from, tl->to < tl->events ? tl->to : tl->events - 1);
    text(cr, 12, 42, 11, false, title);
    uint32_t vm_drawn = UINT32_MAX;
    for (size_t i = 0; i < p->nlanes; i++) {
        struct lane *l = &p->lanes[i];
        if (l->vm != vm_drawn) {
            vm_drawn = l->vm;
            snprintf(title, sizeof title, "VM %" PRIu32 "%s", l->vm,
                     l->vm > 0 ? " (migration destination)"
                               : tl->vms[l->vm].migrates_out ? " (migration source)" : "");
            cairo_set_source_rgb(cr, 0.05, 0.05, 0.05);
            text(cr, 12, l->y - 7, 12, true, title);
        }
        cairo_set_source_rgb(cr, i % 2 ? 0.97 : 0.94, i % 2 ? 0.97 : 0.94, i % 2 ? 0.97 : 0.94);
        cairo_rectangle(cr, LEFT, l->y, W - RIGHT - LEFT, LANE);
        cairo_fill(cr);
        timeline_track_name(l->track, title, sizeof title);
        cairo_set_source_rgb(cr, 0.1, 0.1, 0.1);
        text(cr, 24, l->y + LANE - 8, 11, false, title);
    }
}

static int draw(struct pic *p)
{
    const struct timeline *tl = p->tl;
    uint64_t span = tl->t1 > tl->t0 ? tl->t1 - tl->t0 : 1;
    p->x_scale = (double)(W - LEFT - RIGHT) / (double)span;
    frame(p);
    unsigned rounds = 0;
    for (size_t i = 0; i < tl->nitems; i++) {
        const struct tl_item *it = &tl->items[i];
        struct lane *l = lane_of(p, it->vm, it->track);
        if (!l || !in_view(p, it))
            continue;
        if (it->track == TL_TRACK_VMM)
            vmm_item(p, l, it);
        else if (it->track == TL_TRACK_MIG)
            mig_item(p, l, it, &rounds);
        else if (it->type == TL_SLICE)
            slice(p, l, it);
    }
    for (size_t i = 0; i < p->nlanes; i++)
        flush_slice(p, &p->lanes[i]);
    /* marks over the slices */
    for (size_t i = 0; i < tl->nitems; i++) {
        const struct tl_item *it = &tl->items[i];
        int c = it->track >= 0 && it->type == TL_INSTANT && timeline_shown(tl, i)
                    ? class_of(it->kind) : -1;
        struct lane *l = c >= 0 ? lane_of(p, it->vm, it->track) : NULL;
        if (l)
            mark(p, l, c, it);
    }
    flows(p);
    axis_and_legend(p);
    return cairo_status(p->cr) == CAIRO_STATUS_SUCCESS ? 0 : HV_EIO;
}

int export_draw(const struct timeline *tl, const char *path, bool png)
{
    struct pic p = { .tl = tl };
    int err = layout(&p);
    if (err)
        return err;
    cairo_surface_t *s = png ? cairo_image_surface_create(CAIRO_FORMAT_RGB24, W, (int)p.height)
                             : cairo_svg_surface_create(path, W, p.height);
    if (cairo_surface_status(s) != CAIRO_STATUS_SUCCESS) {
        cairo_surface_destroy(s);
        free(p.lanes);
        return hv_error_set(HV_EIO, "%s: cannot be written", path);
    }
    p.cr = cairo_create(s);
    err = draw(&p);
    cairo_destroy(p.cr);
    if (!err && png && cairo_surface_write_to_png(s, path) != CAIRO_STATUS_SUCCESS)
        err = hv_error_set(HV_EIO, "%s: cannot be written", path);
    cairo_surface_finish(s);
    if (!err && cairo_surface_status(s) != CAIRO_STATUS_SUCCESS)
        err = hv_error_set(HV_EIO, "%s: cannot be written", path);
    cairo_surface_destroy(s);
    free(p.lanes);
    /* cairo's and fontconfig's caches live until the process ends: releasing them here keeps
     * a leak checker's report about hvsim */
    cairo_debug_reset_static_data();
    FcFini();
    return err;
}
