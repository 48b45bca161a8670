/*
 * Reading one property of /chosen from the flattened device tree the
 * guest was booted with (Devicetree Specification v0.4, chapter 5).
 */
#ifndef TEST_GUEST_FDT_H
#define TEST_GUEST_FDT_H

#include <stdbool.h>

/* Sets *value to the u32 property `name` of /chosen; false if the tree
 * is not a device tree or has no such 4-byte property. */
bool fdt_chosen_u32(const void *dtb, const char *name, unsigned *value);

#endif
