/*
 * repdiag: the "Diagnosis" section of report.html, from DIR/diagnosis.json (soak diagnose):
 * the sections failing first, each finding with its severity, evidence and advice; anchors
 * "diagnosis" and "diag-N" (N the runbook section) that the verdict table links failing gates
 * to (diagnose_gate_section). Without diagnosis.json, a line saying how to get one.
 * Writes to the caller's stream; nothing else. Any thread.
 */
#ifndef SOAK_REPDIAG_H
#define SOAK_REPDIAG_H

#include <stdio.h>

/* Writes the section. Returns 1 when diagnosis.json was there (the anchors exist), 0 when it
 * was not, -1 when a write failed. */
int repdiag_write(FILE *f, const char *dir);
/* 1 when DIR/diagnosis.json exists (the verdict table then links failing gates to it). */
int repdiag_exists(const char *dir);

#endif
