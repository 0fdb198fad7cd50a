/*-------------------------------------------------------------------------
 *
 * capability_graph.c
 *	  The shape check of the capability graph: a capability's new
 *	  requirement groups must not make it require itself, at any depth, nor
 *	  make a chain of capabilities requiring capabilities deeper than
 *	  DW_MAX_CAPABILITY_DEPTH.
 *
 * One depth-first search over the graph as it would be, each capability
 * and each requirement visited once: time linear in the graph's size.
 * Walking paths instead (as 0.2 did, in SQL) is exponential in a graph of
 * diamonds, and a bound on the path length let longer cycles through.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "lib/stringinfo.h"
#include "mb/pg_wchar.h"
#include "miscadmin.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/hsearch.h"

#include "requirements.h"

PG_FUNCTION_INFO_V1(dw_check_capability_graph);

/*
 * Longest chain of capabilities requiring capabilities (doc/semantics.md,
 * "Bounds on input").
 */
#define DW_MAX_CAPABILITY_DEPTH 32

/* The longest list of names an error message shows, in bytes. */
#define DW_MAX_SHOWN_PATH 1000

typedef struct NameEntry
{
	char		name[NAMEDATALEN];
	int			index;
} NameEntry;

/* The graph: capabilities 0..n-1, edges in both directions as CSR arrays. */
typedef struct Graph
{
	int			n;
	char	  **names;
	HTAB	   *by_name;
	int		   *down_start;		/* members of v: down[down_start[v] .. [v+1]) */
	int		   *down;
	int		   *up_start;		/* capabilities requiring v */
	int		   *up;
	/* edges as read, before they are sorted into the arrays above */
	int			nedges;
	int			capedges;
	int		   *from;
	int		   *to;
} Graph;

static void
add_node(Graph *g, int i, const char *name)
{
	NameEntry  *e;
	bool		found;

	g->names[i] = pstrdup(name);
	e = hash_search(g->by_name, g->names[i], HASH_ENTER, &found);
	e->index = i;
}

/* add_groups adds an edge from v to each capability its groups name */
static void
add_groups(Graph *g, int v, ArrayType *requires)
{
	Datum	   *elems;
	bool	   *nulls;
	int			nelems;

	deconstruct_array(requires, TEXTOID, -1, false, TYPALIGN_INT, &elems, &nulls, &nelems);
	for (int i = 0; i < nelems; i++)
	{
		DwRequirement req;

		/* malformed groups were refused before (parse_requirements) */
		if (nulls[i] || dw_parse_requirement(TextDatumGetCString(elems[i]), &req) != DW_REQ_OK)
			continue;
		for (int m = 0; m < req.nmembers; m++)
		{
			char		name[NAMEDATALEN];
			NameEntry  *e;

			strlcpy(name, req.members[m].start, Min(req.members[m].len + 1, NAMEDATALEN));
			e = hash_search(g->by_name, name, HASH_FIND, NULL);
			if (e == NULL)
				continue;		/* a dependency */
			if (g->nedges == g->capedges)
			{
				g->capedges *= 2;
				g->from = repalloc(g->from, sizeof(int) * g->capedges);
				g->to = repalloc(g->to, sizeof(int) * g->capedges);
			}
			g->from[g->nedges] = v;
			g->to[g->nedges++] = e->index;
		}
	}
}

/* csr sorts the edges by key into start[] and out[] */
static void
csr(Graph *g, const int *key, const int *val, int **start, int **out)
{
	int		   *fill = palloc0(sizeof(int) * (g->n + 1));

	*start = palloc0(sizeof(int) * (g->n + 1));
	*out = palloc(sizeof(int) * Max(g->nedges, 1));
	for (int e = 0; e < g->nedges; e++)
		(*start)[key[e] + 1]++;
	for (int v = 0; v < g->n; v++)
		(*start)[v + 1] += (*start)[v];
	for (int e = 0; e < g->nedges; e++)
		(*out)[(*start)[key[e]] + fill[key[e]]++] = val[e];
}

/*
 * load_graph reads every capability but "self" as stored, and "self" with
 * the groups it would have; self is node n - 1.
 */
static Graph *
load_graph(const char *self, ArrayType *requires)
{
	Graph	   *g = palloc0(sizeof(Graph));
	HASHCTL		ctl;
	Oid			types[1] = {TEXTOID};
	Datum		values[1] = {CStringGetTextDatum(self)};
	SPITupleTable *tt;
	int			rows;

	if (SPI_execute_with_args("SELECT name, requires FROM depwatch.capability WHERE name <> $1",
							  1, types, values, NULL, true, 0) != SPI_OK_SELECT)
		elog(ERROR, "depwatch: could not read the capabilities");
	tt = SPI_tuptable;
	rows = (int) SPI_processed;

	g->n = rows + 1;
	g->names = palloc(sizeof(char *) * g->n);
	ctl.keysize = NAMEDATALEN;
	ctl.entrysize = sizeof(NameEntry);
	ctl.hcxt = CurrentMemoryContext;
	g->by_name = hash_create("depwatch capability graph", Max(g->n, 16), &ctl,
							 HASH_ELEM | HASH_STRINGS | HASH_CONTEXT);
	for (int r = 0; r < rows; r++)
		add_node(g, r, SPI_getvalue(tt->vals[r], tt->tupdesc, 1));
	add_node(g, rows, self);

	g->capedges = 64;
	g->from = palloc(sizeof(int) * g->capedges);
	g->to = palloc(sizeof(int) * g->capedges);
	for (int r = 0; r < rows; r++)
	{
		bool		isnull;
		Datum		d = SPI_getbinval(tt->vals[r], tt->tupdesc, 2, &isnull);

		if (!isnull)
			add_groups(g, r, DatumGetArrayTypeP(d));
	}
	add_groups(g, rows, requires);

	csr(g, g->from, g->to, &g->down_start, &g->down);
	csr(g, g->to, g->from, &g->up_start, &g->up);
	return g;
}

/* path_text joins names with " -> ", cut after DW_MAX_SHOWN_PATH bytes */
static char *
path_text(Graph *g, const int *path, int len)
{
	StringInfoData s;

	initStringInfo(&s);
	for (int i = 0; i < len; i++)
	{
		if (i > 0)
			appendStringInfoString(&s, " -> ");
		appendStringInfoString(&s, g->names[path[i]]);
		if (s.len > DW_MAX_SHOWN_PATH)
		{
			s.len = pg_mbcliplen(s.data, s.len, DW_MAX_SHOWN_PATH - 3);
			s.data[s.len] = '\0';
			appendStringInfoString(&s, "...");
			break;
		}
	}
	return s.data;
}

/*
 * longest_chains walks from "root" along down[] (or up[]) edges, depth
 * first without recursion, and sets len[v] to the number of capabilities
 * on the longest chain from v on, next[v] to the next one on it (-1 at
 * the end).  On meeting a capability still on the walk (a cycle) it
 * returns the walk from root to it, closed by it again, in *cycle; a walk
 * that only reports may ignore cycles (ignore_cycles).
 */
static int
longest_chains(Graph *g, int root, const int *start, const int *edges,
			   int *len, int *next, int **cycle, bool ignore_cycles)
{
	char	   *color = palloc0(g->n);	/* 0 new, 1 on the walk, 2 done */
	int		   *iter = palloc0(sizeof(int) * g->n);
	int		   *stack = palloc(sizeof(int) * g->n);
	int		   *pos = palloc(sizeof(int) * g->n);
	int			top = 0;

	stack[top++] = root;
	color[root] = 1;
	pos[root] = 0;
	iter[root] = start[root];
	while (top > 0)
	{
		int			v = stack[top - 1];

		CHECK_FOR_INTERRUPTS();
		if (iter[v] < start[v + 1])
		{
			int			w = edges[iter[v]++];

			if (color[w] == 0)
			{
				color[w] = 1;
				pos[w] = top;
				iter[w] = start[w];
				stack[top++] = w;
			}
			else if (color[w] == 1 && !ignore_cycles)
			{
				int			n = top - pos[w];

				*cycle = palloc(sizeof(int) * (n + 1));
				memcpy(*cycle, stack + pos[w], sizeof(int) * n);
				(*cycle)[n] = w;
				return n + 1;
			}
			continue;
		}
		/* every way on from v is done: its longest chain is known */
		len[v] = 1;
		next[v] = -1;
		for (int e = start[v]; e < start[v + 1]; e++)
		{
			int			w = edges[e];

			if (color[w] == 2 && len[w] + 1 > len[v])
			{
				len[v] = len[w] + 1;
				next[v] = w;
			}
		}
		color[v] = 2;
		top--;
	}
	return 0;
}

/*
 * depwatch._check_capability_graph(name text, requires text[]) RETURNS void
 *
 * Raises an error if capability "name" with groups "requires" (replacing
 * its own, if it exists) would require itself, or sit on a chain of more
 * than DW_MAX_CAPABILITY_DEPTH capabilities.  The groups must have been
 * checked already (parse_requirements).
 */
Datum
dw_check_capability_graph(PG_FUNCTION_ARGS)
{
	char	   *self;
	Graph	   *g;
	int		   *below;
	int		   *down_next;
	int		   *above;
	int		   *up_next;
	int		   *cycle = NULL;
	int			ncycle;
	int			root;
	int			depth;
	int		   *chain;
	int			nchain = 0;
	int			rc;

	if (PG_ARGISNULL(0) || PG_ARGISNULL(1))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("capability name and requirements must not be NULL")));
	self = text_to_cstring(PG_GETARG_TEXT_PP(0));

	if ((rc = SPI_connect()) != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed: %s", SPI_result_code_string(rc));
	g = load_graph(self, PG_GETARG_ARRAYTYPE_P(1));
	root = g->n - 1;
	below = palloc(sizeof(int) * g->n);
	down_next = palloc(sizeof(int) * g->n);
	above = palloc(sizeof(int) * g->n);
	up_next = palloc(sizeof(int) * g->n);

	ncycle = longest_chains(g, root, g->down_start, g->down, below, down_next, &cycle, false);
	if (ncycle > 0 && cycle[0] == root)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_OBJECT_DEFINITION),
				 errmsg("capability \"%s\" would require itself through %s",
						self, path_text(g, cycle, ncycle)),
				 errdetail("Capability requirements must not form a cycle."),
				 errhint("Remove one of the capabilities on that path from the requirements.")));
	if (ncycle > 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_OBJECT_DEFINITION),
				 errmsg("capability \"%s\" would require capabilities that require themselves: %s",
						self, path_text(g, cycle + 1, ncycle - 1)),
				 errdetail("Capability requirements must not form a cycle."),
				 errhint("Break that cycle with alter_capability() first.")));

	/*
	 * The chains through self: the longest from a capability nobody
	 * requires down to self, then on from self.  Cycles above self (stored
	 * before 0.3) are not this change's doing: they are left out.
	 */
	longest_chains(g, root, g->up_start, g->up, above, up_next, &cycle, true);
	depth = above[root] + below[root] - 1;
	if (depth <= DW_MAX_CAPABILITY_DEPTH)
	{
		SPI_finish();
		PG_RETURN_VOID();
	}
	chain = palloc(sizeof(int) * depth);
	for (int v = up_next[root]; v >= 0; v = up_next[v])
		chain[nchain++] = v;
	for (int i = 0; i < nchain / 2; i++)
	{
		int			t = chain[i];

		chain[i] = chain[nchain - 1 - i];
		chain[nchain - 1 - i] = t;
	}
	for (int v = root; v >= 0; v = down_next[v])
		chain[nchain++] = v;
	ereport(ERROR,
			(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
			 errmsg("capability \"%s\" would be on a chain of %d capabilities requiring capabilities, more than %d",
					self, depth, DW_MAX_CAPABILITY_DEPTH),
			 errdetail("The chain is %s.", path_text(g, chain, nchain)),
			 errhint("Let a capability require the dependencies of a deeper one directly.")));
	PG_RETURN_VOID();
}
