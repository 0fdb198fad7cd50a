/*-------------------------------------------------------------------------
 *
 * probe_pg.c
 *	  postgres probes: connect with libpq's asynchronous API and run one
 *	  query, many at once, none waiting for another.
 *
 * libpq's PQconnectStart resolves host names synchronously, so a host name
 * is first resolved with glibc's getaddrinfo_a and handed to libpq as
 * hostaddr (host stays, for TLS).  Every phase (resolution, connection,
 * query) is bounded by the probe's deadline.  The probes' sockets live in
 * an epoll set of their own that the worker waits on as one descriptor.
 *
 * The query is "SELECT 1" unless options->>'query' says otherwise; the
 * probe is good when it returns at least one row and its first column is
 * not false.
 *
 * The probe connects with no credential of the server's own: the PG*
 * environment variables are cleared in the worker at start, the password
 * file is pinned to an empty file and the client certificate to none,
 * unless a superuser set them in the conninfo.  The session is bounded on
 * the server's side too (statement, lock and idle-in-transaction timeouts
 * of the probe's timeout, no deferrable snapshot wait), so a probe that the
 * worker gave up on leaves no backend waiting.  A restricted probe
 * (outbound.c) is checked before libpq sees its conninfo, and its address
 * again after resolution.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <fcntl.h>
#include <netdb.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <arpa/inet.h>
#include <unistd.h>
#include <netinet/in.h>
#include <linux/tcp.h>			/* tcp_info with tcpi_bytes_received */

#include "catalog/pg_type.h"
#include "libpq-fe.h"
#include "miscadmin.h"
#include "utils/memutils.h"
#include "utils/timestamp.h"

#include "address_policy.h"
#include "depwatch.h"
#include "outbound.h"
#include "probe.h"

/* while a name is being resolved, look again this often */
#define RESOLVE_POLL_MS 10

/*
 * A peer is hostile (doc/semantics.md, "Peer answers"): it may answer
 * with a row of 400 MB, or an error message as long.  libpq keeps a whole
 * message in memory before it hands it over, so the bound is kept on the
 * socket: a probe whose connection has received more than PG_READ_MAX
 * bytes (handshake, authentication and answer together) is abandoned, and
 * the kernel's receive buffer is kept small so that libpq can never read
 * much past that bound between two looks.  The row itself must be at most
 * PG_ROW_MAX bytes.
 */
#define PG_READ_MAX		(64 * 1024)
#define PG_ROW_MAX		8192
#define PG_RCVBUF		(32 * 1024)

typedef enum PgPhase
{
	PG_RESOLVING,
	PG_CONNECTING,
	PG_QUERYING
} PgPhase;

typedef struct PgProbe
{
	DwTarget   *target;
	PgPhase		phase;
	TimestampTz deadline;
	struct gaicb *gai;			/* malloc'd: glibc may still write to it */
	PGconn	   *conn;
	pgsocket	fd;				/* the socket in our epoll set, or -1 */
	PostgresPollingStatusType poll;
	char	   *host;			/* the host name being resolved */
	char	   *options;		/* the session's options: the target's and ours */
	bool		pin_passfile;	/* the target names no passfile */
	bool		pin_sslcert;	/* nor sslcert */
	bool		pin_sslkey;		/* nor sslkey */
	pgsocket	counted_fd;		/* the socket bytes_in counts, or -1 */
	uint64		bytes_before;	/* received on earlier sockets of this probe */
	uint64		bytes_in;		/* received on counted_fd */
} PgProbe;

/* in the data directory: an empty password file, and no client certificate */
#define EMPTY_PASSFILE	"depwatch_empty_passfile"
#define NO_CLIENT_CERT	"depwatch_no_client_certificate/none"

static char *empty_passfile = NULL;
static char *no_client_cert = NULL;
/* libpq was built with GSSAPI: it takes krbsrvname */
static bool has_krbsrvname = false;

static int	epoll_fd = -1;
static PgProbe **probes = NULL;	/* in flight */
static int	nprobes = 0;
static int	probes_cap = 0;

/* resolutions abandoned (timed out) before glibc was done with them */
static struct gaicb **orphans = NULL;
static int	norphans = 0;
static int	orphans_cap = 0;

static void
free_gai(struct gaicb *g)
{
	if (g->ar_result)
		freeaddrinfo(g->ar_result);
	free((char *) g->ar_name);
	free(g);
}

/* reap_orphans frees abandoned resolutions that glibc has finished */
static void
reap_orphans(void)
{
	for (int i = 0; i < norphans;)
	{
		if (gai_error(orphans[i]) != EAI_INPROGRESS)
		{
			free_gai(orphans[i]);
			orphans[i] = orphans[--norphans];
		}
		else
			i++;
	}
}

static void
watch(PgProbe *p, pgsocket fd, bool write)
{
	struct epoll_event ev;

	if (p->fd >= 0 && p->fd != fd)
		(void) epoll_ctl(epoll_fd, EPOLL_CTL_DEL, p->fd, NULL);
	memset(&ev, 0, sizeof(ev));
	ev.events = write ? EPOLLOUT : EPOLLIN;
	ev.data.ptr = p;
	if (epoll_ctl(epoll_fd, EPOLL_CTL_MOD, fd, &ev) != 0 &&
		epoll_ctl(epoll_fd, EPOLL_CTL_ADD, fd, &ev) != 0)
		elog(WARNING, "depwatch: could not watch a postgres probe socket: %m");
	p->fd = fd;
}

/* end_probe frees one probe and reports its sample */
static void
end_probe(PgProbe *p, bool ok, const char *detail)
{
	DwTarget   *t = p->target;

	for (int i = 0; i < nprobes; i++)
		if (probes[i] == p)
		{
			probes[i] = probes[--nprobes];
			break;
		}
	if (p->fd >= 0)
		(void) epoll_ctl(epoll_fd, EPOLL_CTL_DEL, p->fd, NULL);
	if (p->conn)
		PQfinish(p->conn);
	if (p->gai)
	{
		if (gai_error(p->gai) == EAI_INPROGRESS && gai_cancel(p->gai) != EAI_CANCELED)
		{
			if (norphans == orphans_cap)
			{
				orphans_cap = orphans_cap ? orphans_cap * 2 : 16;
				orphans = orphans ?
					repalloc(orphans, sizeof(struct gaicb *) * orphans_cap) :
					MemoryContextAlloc(TopMemoryContext, sizeof(struct gaicb *) * orphans_cap);
			}
			orphans[norphans++] = p->gai;
		}
		else
			free_gai(p->gai);
	}
	if (p->host)
		pfree(p->host);
	if (p->options)
		pfree(p->options);
	t->probe.pg = NULL;
	t->in_flight = false;
	pfree(p);
	if (detail != NULL)
		dw_probe_finished(t, ok, detail);
}

/*
 * libpq's error message, on one line, without its trailing newline.  It may
 * quote the server in any encoding: dw_probe_finished makes it valid text
 * and cuts it, so keep more of it than a sample's detail holds.
 */
static const char *
conn_error(PGconn *conn)
{
	static char buf[1024];
	char	   *nl;

	strlcpy(buf, conn ? PQerrorMessage(conn) : "out of memory", sizeof(buf));
	while ((nl = strchr(buf, '\n')) != NULL)
		*nl = (nl[1] == '\0') ? '\0' : ' ';
	return buf;
}

/*
 * start_connect hands libpq the conninfo, with hostaddr set when we
 * resolved the host ourselves, and what every probe connects with.
 */
static void
start_connect(PgProbe *p, const char *hostaddr)
{
	const char *keywords[11];
	const char *values[11];
	int			n = 0;

	/* dbname is expanded as a conninfo; later keywords override it */
	keywords[n] = "dbname";
	values[n++] = p->target->target;
	if (hostaddr != NULL)
	{
		keywords[n] = "hostaddr";
		values[n++] = hostaddr;
	}
	keywords[n] = "options";
	values[n++] = p->options;
	if (p->pin_passfile)
	{
		keywords[n] = "passfile";
		values[n++] = empty_passfile;
	}
	if (p->pin_sslcert)
	{
		keywords[n] = "sslcert";
		values[n++] = no_client_cert;
	}
	if (p->pin_sslkey)
	{
		keywords[n] = "sslkey";
		values[n++] = no_client_cert;
	}
	if (p->target->restricted)
	{
		/*
		 * No GSSAPI with the server's own Kerberos credentials: no
		 * encryption, and authentication only to a service no realm has,
		 * so that no ticket is ever sent on the server's behalf.
		 */
		keywords[n] = "gssencmode";
		values[n++] = "disable";
		if (has_krbsrvname)
		{
			keywords[n] = "krbsrvname";
			values[n++] = "depwatch-restricted-probe-no-kerberos";
		}
	}
	keywords[n] = "application_name";
	values[n++] = "depwatch probe";
	keywords[n] = NULL;
	values[n] = NULL;

	p->phase = PG_CONNECTING;
	p->conn = PQconnectStartParams(keywords, values, 1);
	if (p->conn == NULL || PQstatus(p->conn) == CONNECTION_BAD)
	{
		end_probe(p, false, conn_error(p->conn));
		return;
	}
	p->poll = PGRES_POLLING_WRITING;
	watch(p, PQsocket(p->conn), true);
}

/* is_literal: an IP address or a unix socket directory, nothing to resolve */
static bool
is_literal(const char *host)
{
	unsigned char buf[sizeof(struct in6_addr)];

	return host[0] == '/' || host[0] == '\0' ||
		inet_pton(AF_INET, host, buf) == 1 || inet_pton(AF_INET6, host, buf) == 1;
}

/*
 * host_to_resolve: the one host name we must resolve before libpq sees the
 * conninfo (NULL when there is none).  *several is set when there are
 * several host names, which we do not resolve (libpq would, blocking).
 */
static char *
host_to_resolve(const char *host, const char *hostaddr, bool *several)
{
	char	   *hosts;
	char	   *name = NULL;
	char	   *save = NULL;

	*several = false;
	if ((hostaddr != NULL && hostaddr[0]) || host == NULL || host[0] == '\0')
		return NULL;
	hosts = pstrdup(host);
	for (char *h = strtok_r(hosts, ",", &save); h; h = strtok_r(NULL, ",", &save))
	{
		if (is_literal(h))
			continue;
		if (name != NULL)
		{
			*several = true;
			return NULL;
		}
		name = h;
	}
	/* the probe keeps the name until it ends, across turns of the loop */
	if (name != NULL && strchr(host, ',') == NULL)
		return MemoryContextStrdup(TopMemoryContext, name);
	if (name != NULL)
		*several = true;		/* a name among several hosts */
	return NULL;
}

/*
 * read_conninfo parses the target once: the restricted probe's rules, the
 * host to resolve, what to pin and the session's options.  Returns false,
 * with the reason in why[], when the probe must not connect.
 */
static bool
read_conninfo(PgProbe *p, char *why, size_t whylen)
{
	DwTarget   *t = p->target;
	PQconninfoOption *opts = PQconninfoParse(t->target, NULL);
	const char *host = NULL;
	const char *hostaddr = NULL;
	const char *options = "";
	long		ms = Max(t->timeout / 1000, 1);
	bool		several;

	if (opts == NULL)
	{
		snprintf(why, whylen, "the connection string does not parse");
		return false;
	}
	if (t->restricted)
	{
		DwOutbound	v = dw_restricted_conninfo(opts, dw_address_policy, why, whylen);

		if (v != DW_OUTBOUND_OK)
		{
			if (v != DW_OUTBOUND_ADDRESS)
				strlcat(why, " for a probe not set by a superuser", whylen);
			PQconninfoFree(opts);
			return false;
		}
	}
	p->pin_passfile = p->pin_sslcert = p->pin_sslkey = true;
	for (PQconninfoOption *o = opts; o->keyword; o++)
	{
		if (o->val == NULL || o->val[0] == '\0')
			continue;
		if (strcmp(o->keyword, "host") == 0)
			host = o->val;
		else if (strcmp(o->keyword, "hostaddr") == 0)
			hostaddr = o->val;
		else if (strcmp(o->keyword, "options") == 0)
			options = o->val;
		else if (strcmp(o->keyword, "passfile") == 0)
			p->pin_passfile = false;
		else if (strcmp(o->keyword, "sslcert") == 0)
			p->pin_sslcert = false;
		else if (strcmp(o->keyword, "sslkey") == 0)
			p->pin_sslkey = false;
	}

	/*
	 * Ours come last, so they win over the target's (a superuser's): the
	 * server ends the probe's statement, lock wait or open transaction
	 * when the worker gives up on it, and a default of deferrable
	 * serializable transactions cannot make it wait for a safe snapshot.
	 */
	p->options = MemoryContextStrdup(TopMemoryContext,
									 psprintf("%s%s-c statement_timeout=%ld -c lock_timeout=%ld "
											  "-c idle_in_transaction_session_timeout=%ld "
											  "-c default_transaction_deferrable=off",
											  options, options[0] ? " " : "", ms, ms, ms));
	p->host = host_to_resolve(host, hostaddr, &several);
	PQconninfoFree(opts);
	if (several)
	{
		snprintf(why, whylen, "several host names: list their addresses in hostaddr");
		return false;
	}
	return true;
}

/* pg_claims: postgres targets */
static bool
pg_claims(const DwTarget *t)
{
	return t->dep.probe == DW_PROBE_POSTGRES;
}

/*
 * pg_start starts one postgres probe of t.
 */
static bool
pg_start(DwTarget *t, TimestampTz now, char *why, size_t whylen)
{
	PgProbe    *p;

	if (nprobes == probes_cap)
	{
		probes_cap = probes_cap ? probes_cap * 2 : 64;
		probes = probes ?
			repalloc(probes, sizeof(PgProbe *) * probes_cap) :
			MemoryContextAlloc(TopMemoryContext, sizeof(PgProbe *) * probes_cap);
	}
	p = MemoryContextAllocZero(TopMemoryContext, sizeof(PgProbe));
	p->target = t;
	p->deadline = now + t->timeout;
	p->fd = -1;
	p->counted_fd = -1;
	probes[nprobes++] = p;
	t->probe.pg = p;
	t->in_flight = true;

	if (!read_conninfo(p, why, whylen))
	{
		end_probe(p, false, NULL);
		return false;
	}
	if (p->host == NULL)
	{
		start_connect(p, NULL);
		return true;
	}

	/* glibc owns the request until it is done: malloc, not palloc */
	p->phase = PG_RESOLVING;
	p->gai = calloc(1, sizeof(struct gaicb));
	if (p->gai)
		p->gai->ar_name = strdup(p->host);
	if (p->gai == NULL || p->gai->ar_name == NULL ||
		getaddrinfo_a(GAI_NOWAIT, &p->gai, 1, NULL) != 0)
	{
		snprintf(why, whylen, "could not start resolving \"%s\"", p->host);
		end_probe(p, false, NULL);
		return false;
	}
	return true;
}

/* advance_resolving hands the address to libpq once glibc has it */
static void
advance_resolving(PgProbe *p)
{
	int			rc = gai_error(p->gai);
	char		addr[INET6_ADDRSTRLEN];
	struct addrinfo *ai;

	if (rc == EAI_INPROGRESS)
		return;
	if (rc != 0 || p->gai->ar_result == NULL)
	{
		char		detail[160];

		snprintf(detail, sizeof(detail), "could not resolve \"%s\": %s", p->host, gai_strerror(rc));
		end_probe(p, false, detail);
		return;
	}
	ai = p->gai->ar_result;
	if (p->target->restricted && !dw_policy_allows(dw_address_policy, ai->ai_addr))
	{
		char		detail[160];

		dw_address_text(ai->ai_addr, addr, sizeof(addr));
		snprintf(detail, sizeof(detail), "address %s is not allowed by depwatch.allowed_addresses", addr);
		end_probe(p, false, detail);
		return;
	}
	if (ai->ai_family == AF_INET)
		inet_ntop(AF_INET, &((struct sockaddr_in *) ai->ai_addr)->sin_addr, addr, sizeof(addr));
	else
		inet_ntop(AF_INET6, &((struct sockaddr_in6 *) ai->ai_addr)->sin6_addr, addr, sizeof(addr));
	free_gai(p->gai);
	p->gai = NULL;
	start_connect(p, addr);
}

/* row_bytes: the size of the first row of res */
static int64
row_bytes(const PGresult *res)
{
	int64		n = 0;

	for (int f = 0; f < PQnfields(res); f++)
		n += PQgetlength(res, 0, f);
	return n;
}

/* finish_query: good when at least one row came, its first column not false */
static void
finish_query(PgProbe *p)
{
	PGresult   *res;
	bool		ok = false;
	char		detail[1024] = "query returned no result";

	while ((res = PQgetResult(p->conn)) != NULL)
	{
		ExecStatusType st = PQresultStatus(res);

		if (st == PGRES_TUPLES_OK)
		{
			if (PQntuples(res) == 0)
			{
				ok = false;
				snprintf(detail, sizeof(detail), "query returned no row");
			}
			else if (row_bytes(res) > PG_ROW_MAX)
			{
				ok = false;
				snprintf(detail, sizeof(detail), "query returned a row of more than %d bytes",
						 PG_ROW_MAX);
			}
			else if (PQnfields(res) > 0 && !PQgetisnull(res, 0, 0) &&
					 strcmp(PQgetvalue(res, 0, 0), "f") == 0 && PQftype(res, 0) == BOOLOID)
			{
				ok = false;
				snprintf(detail, sizeof(detail), "query returned false");
			}
			else
			{
				ok = true;
				snprintf(detail, sizeof(detail), "query ok");
			}
		}
		else if (st != PGRES_COMMAND_OK)
		{
			ok = false;
			snprintf(detail, sizeof(detail), "%s", conn_error(p->conn));
		}
		PQclear(res);
	}
	end_probe(p, ok, detail);
}

/*
 * read_too_much: has this probe's connection received more than
 * PG_READ_MAX bytes?  TCP tells exactly how much arrived
 * (tcpi_bytes_received); on a unix socket, what waits to be read is added
 * up each time libpq is about to read (about_to_read), so counted once.
 */
static bool
read_too_much(PgProbe *p, bool about_to_read)
{
	pgsocket	fd = PQsocket(p->conn);
	struct tcp_info info;
	socklen_t	infolen = sizeof(info);
	int			waiting = 0;

	if (fd < 0)
		return false;
	if (fd != p->counted_fd)
	{
		int			rcvbuf = PG_RCVBUF;

		/* libpq tries another address or host: count on */
		p->bytes_before += p->bytes_in;
		p->bytes_in = 0;
		p->counted_fd = fd;
		(void) setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf));
	}
	if (getsockopt(fd, IPPROTO_TCP, TCP_INFO, &info, &infolen) == 0 &&
		infolen >= offsetof(struct tcp_info, tcpi_bytes_received) + sizeof(info.tcpi_bytes_received))
		p->bytes_in = info.tcpi_bytes_received;
	else if (about_to_read && ioctl(fd, FIONREAD, &waiting) == 0 && waiting > 0)
		p->bytes_in += waiting;
	return p->bytes_before + p->bytes_in > PG_READ_MAX;
}

/* too_much ends a probe whose peer sent more than PG_READ_MAX bytes */
static void
too_much(PgProbe *p)
{
	char		detail[160];

	snprintf(detail, sizeof(detail),
			 "the server sent more than %d bytes while %s; connection abandoned",
			 PG_READ_MAX, p->phase == PG_CONNECTING ? "connecting" : "answering");
	end_probe(p, false, detail);
}

/* advance moves one probe on after its socket became ready */
static void
advance(PgProbe *p)
{
	if (read_too_much(p, true))
	{
		too_much(p);
		return;
	}
	if (p->phase == PG_CONNECTING)
	{
		p->poll = PQconnectPoll(p->conn);
		switch (p->poll)
		{
			case PGRES_POLLING_READING:
				watch(p, PQsocket(p->conn), false);
				return;
			case PGRES_POLLING_WRITING:
				watch(p, PQsocket(p->conn), true);
				return;
			case PGRES_POLLING_FAILED:
				end_probe(p, false, conn_error(p->conn));
				return;
			case PGRES_POLLING_OK:
			default:
				break;
		}
		if (PQsetnonblocking(p->conn, 1) != 0 ||
			!PQsendQuery(p->conn, p->target->query ? p->target->query : "SELECT 1"))
		{
			end_probe(p, false, conn_error(p->conn));
			return;
		}
		p->phase = PG_QUERYING;
		/* the query may still sit in libpq's buffer */
		watch(p, PQsocket(p->conn), PQflush(p->conn) > 0);
		return;
	}

	/* querying */
	if (PQflush(p->conn) > 0)
		return;
	watch(p, PQsocket(p->conn), false);
	if (!PQconsumeInput(p->conn))
	{
		end_probe(p, false, conn_error(p->conn));
		return;
	}
	/* what libpq just read may already be past the bound: do not parse it */
	if (read_too_much(p, false))
	{
		too_much(p);
		return;
	}
	if (!PQisBusy(p->conn))
		finish_query(p);
}

/*
 * pg_init readies the worker's process for postgres probes: libpq must
 * find none of the server's own settings or credentials.  The PG*
 * environment variables (PGPASSFILE, PGSERVICE, PGSSLCERT, PGOPTIONS,
 * PGHOST...) would be defaults for every probe: they are cleared here, in
 * the worker's process only.  The empty password file replaces
 * ~/.pgpass for every probe whose conninfo names none.  Whether libpq
 * knows krbsrvname (it was built with GSSAPI) is read once.
 */
static void
pg_init(void)
{
	extern char **environ;
	int			fd;
	int			n = 0;
	char	  **names;
	PQconninfoOption *defaults;

	epoll_fd = epoll_create1(EPOLL_CLOEXEC);
	if (epoll_fd < 0)
		elog(ERROR, "could not create an epoll set: %m");
	for (char **e = environ; *e; e++)
		n++;
	names = palloc(sizeof(char *) * (n + 1));
	n = 0;
	for (char **e = environ; *e; e++)
		if (strncmp(*e, "PG", 2) == 0 && strchr(*e, '=') != NULL)
			names[n++] = pnstrdup(*e, strchr(*e, '=') - *e);
	for (int i = 0; i < n; i++)
	{
		unsetenv(names[i]);
		pfree(names[i]);
	}
	pfree(names);

	defaults = PQconndefaults();
	for (PQconninfoOption *o = defaults; o && o->keyword; o++)
		has_krbsrvname |= strcmp(o->keyword, "krbsrvname") == 0;
	PQconninfoFree(defaults);
	empty_passfile = MemoryContextStrdup(TopMemoryContext,
										 psprintf("%s/%s", DataDir, EMPTY_PASSFILE));
	no_client_cert = MemoryContextStrdup(TopMemoryContext,
										 psprintf("%s/%s", DataDir, NO_CLIENT_CERT));
	/* libpq reads no password from a file that does not exist either */
	fd = open(empty_passfile, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0)
		ereport(LOG,
				(errmsg("depwatch worker: could not create \"%s\": %m", empty_passfile)));
	else
		close(fd);
}

static pgsocket
pg_fd(void)
{
	return epoll_fd;
}

static void
pg_ready(void)
{
	struct epoll_event ready[256];
	int			n = epoll_wait(epoll_fd, ready, lengthof(ready), 0);

	for (int i = 0; i < n; i++)
		advance((PgProbe *) ready[i].data.ptr);
}

/*
 * pg_timeout_ms: how long the worker may sleep as far as postgres probes
 * go (-1: no limit).
 */
static long
pg_timeout_ms(TimestampTz now)
{
	TimestampTz first = DT_NOEND;

	for (int i = 0; i < nprobes; i++)
	{
		if (probes[i]->phase == PG_RESOLVING)
			return RESOLVE_POLL_MS;
		first = Min(first, probes[i]->deadline);
	}
	if (norphans > 0)
		return 1000;
	if (first == DT_NOEND)
		return -1;
	return first <= now ? 0 : (long) ((first - now + 999) / 1000);
}

/* pg_tick moves resolutions on and ends probes past their deadline */
static void
pg_tick(TimestampTz now)
{
	reap_orphans();
	for (int i = nprobes - 1; i >= 0; i--)
	{
		PgProbe    *p;

		if (i >= nprobes)
			continue;
		p = probes[i];
		if (now >= p->deadline)
		{
			char		detail[160];

			snprintf(detail, sizeof(detail), "timeout after %ld ms while %s",
					 (long) (p->target->timeout / 1000),
					 p->phase == PG_RESOLVING ? "resolving the host" :
					 p->phase == PG_CONNECTING ? "connecting" : "querying");
			end_probe(p, false, detail);
		}
		else if (p->phase == PG_RESOLVING)
			advance_resolving(p);
	}
}

static void
pg_cancel(DwTarget *t)
{
	if (t->probe.pg != NULL)
		end_probe(t->probe.pg, false, NULL);
}

const DwProbeDriver dw_pg_driver = {
	.claims = pg_claims,
	.init = pg_init,
	.start = pg_start,
	.cancel = pg_cancel,
	.fd = pg_fd,
	.timeout_ms = pg_timeout_ms,
	.ready = pg_ready,
	.tick = pg_tick,
};
