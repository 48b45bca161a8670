/*
 * The content scanner: merges guest pages found equal by content, in idle
 * hart time, under rate caps (core/content_scan.c).
 */
#ifndef DISCV_CONTENT_SCAN_H
#define DISCV_CONTENT_SCAN_H

#include <stdbool.h>
#include <stdint.h>

/* Turns the scanner on (if content sharing is on) with its caps: pages
 * looked at per second in all, and per VM (SCAN_RATE=). */
void content_scan_init(bool enabled, uint64_t rate_total, uint64_t rate_vm);

/*
 * Called by an idle hart before it sleeps (idle: scans what the budgets
 * allow) and by a busy one between slices (one batch of 32 pages at most,
 * about 0.6 ms, and only if no hart has scanned for 2.5 ms): idle harts
 * come first, and a machine with no idle hart still scans. Returns when
 * it wants to run next (UINT64_MAX: never).
 */
uint64_t content_scan(bool idle);

#endif
