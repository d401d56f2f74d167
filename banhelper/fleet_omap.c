/*
 * fleet_omap.c - the fleet's owner map: prefix -> the server whose ban it
 * is (an index into its names; SELF; LIFTED by the fleet).  Used by the
 * daemon's thread only (fleet.c), so it needs no lock.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fleet_int.h"

static uint32_t
ohash(const struct ab_addr *a)
{
	uint32_t h = 2166136261u;
	size_t i;

	h = (h ^ a->family) * 16777619u;
	h = (h ^ a->plen) * 16777619u;
	for (i = 0; i < 16; i++)
		h = (h ^ a->a[i]) * 16777619u;
	return h;
}

static int32_t *
oslot(struct omap *m, const struct ab_addr *a)
{
	int32_t *p = &m->head[ohash(a) % m->nbucket];

	while (*p >= 0 && memcmp(&m->node[*p].a, a, sizeof(*a)) != 0)
		p = &m->node[*p].next;
	return p;
}

int
omap_init(struct omap *m)
{
	size_t i;

	memset(m, 0, sizeof(*m));
	m->nbucket = 65536;
	m->head = malloc(m->nbucket * sizeof(*m->head));
	m->name = calloc(NAMES_MAX, sizeof(*m->name));
	if (m->head == NULL || m->name == NULL)
		return -ENOMEM;
	for (i = 0; i < m->nbucket; i++)
		m->head[i] = -1;
	m->free = -1;
	m->nname = 1;		/* 0 is SELF */
	return 0;
}

void
omap_free(struct omap *m)
{
	free(m->head);
	free(m->node);
	free(m->name);
}

/* The index of a server's name (SELF for ""), LIFTED if none is left. */
uint16_t
oname(struct omap *m, const char *from)
{
	size_t i;

	if (from[0] == '\0')
		return SELF;
	for (i = 1; i < m->nname; i++)
		if (strcmp(m->name[i], from) == 0)
			return (uint16_t)i;
	if (m->nname >= NAMES_MAX)
		return LIFTED;
	snprintf(m->name[m->nname], AB_FLEET_NAME_MAX, "%s", from);
	return (uint16_t)m->nname++;
}

void
omap_set(struct omap *m, const struct ab_addr *a, uint16_t who)
{
	int32_t *p = oslot(m, a), k;

	if (*p >= 0) {
		m->node[*p].who = who;
		return;
	}
	if (m->free >= 0) {
		k = m->free;
		m->free = m->node[k].next;
	} else {
		if (m->nnode == m->cap) {
			size_t cap = m->cap ? m->cap * 2 : 1024;
			struct onode *n = reallocarray(m->node, cap,
			    sizeof(*n));

			if (n == NULL)
				return;	/* its unban then goes unpublished */
			m->node = n;
			m->cap = cap;
		}
		k = (int32_t)m->nnode++;
	}
	m->node[k].a = *a;
	m->node[k].who = who;
	m->node[k].next = -1;
	*oslot(m, a) = k;
}

/* Take a's entry out: its owner, or -1 if none. */
int
omap_take(struct omap *m, const struct ab_addr *a)
{
	int32_t *p = oslot(m, a), k = *p;
	int who;

	if (k < 0)
		return -1;
	who = m->node[k].who;
	*p = m->node[k].next;
	m->node[k].next = m->free;
	m->free = k;
	return who;
}
