/* Kernel values per container, for records made in the background: what serve enforced,
 * what Docker's record makes runc write, and the writes that put the kernel right. */
#include "serve_update.h"

#include <stdio.h>
#include <string.h>

void su_knobs_enforced(struct su_knobs *ks, const struct cglat_plan *p, uint64_t seq,
                       struct su_written *w)
{
	w->n = 0;
	for (size_t i = 0; i < p->count; i++) {
		const struct cglat_write *pw = &p->w[i];
		struct su_knob *k = &ks->k[pw->knob];
		if (!k->known) {
			k->known = true;
			snprintf(k->recorded, sizeof(k->recorded), "%s", pw->restore_text);
		}
		snprintf(k->enforced, sizeof(k->enforced), "%s", pw->new_text);
		k->enforced_seq = seq;
		if (w->n < CGLAT_MAX_WRITES) {
			w->knob[w->n] = pw->knob;
			snprintf(w->text[w->n], sizeof(w->text[0]), "%s", pw->new_text);
			w->n++;
		}
	}
}

static void add_fix(enum cg_knob *fix, size_t *n, enum cg_knob knob)
{
	for (size_t i = 0; i < *n; i++)
		if (fix[i] == knob)
			return;
	if (*n < CG_KNOB_COUNT)
		fix[(*n)++] = knob;
}

size_t su_knobs_recorded(struct su_knobs *ks, const struct su_written *w, uint64_t seq, bool ok,
                         enum cg_knob fix[CG_KNOB_COUNT])
{
	size_t n = 0;
	for (size_t i = 0; i < w->n; i++) {
		struct su_knob *k = &ks->k[w->knob[i]];
		if (ok) {
			snprintf(k->recorded, sizeof(k->recorded), "%s", w->text[i]);
		} else if (k->enforced_seq == seq) {
			/* Docker keeps what it had: so does the kernel. */
			memcpy(k->enforced, k->recorded, sizeof(k->enforced));
			add_fix(fix, &n, w->knob[i]);
		}
	}
	for (int i = 0; i < CG_KNOB_COUNT; i++)
		if (ks->k[i].known && ks->k[i].enforced_seq > seq)
			add_fix(fix, &n, (enum cg_knob)i);
	return n;
}

bool su_supersedes(const struct su_body *newer, const struct su_body *older)
{
	return (older->given & ~newer->given) == 0;
}
