// SPDX-License-Identifier: GPL-2.0
/*
 * KPortReserve selftests - the policy file against a model of its grammar
 *
 * Writes random and grammar-aware mutated policy text (rules with and without
 * a protocol selector, subjects of one to four atoms, in order or not,
 * deletes, ranges, ids, escapes, clear, comments, oversized lines and paths,
 * split into several write(2) calls at random points) and checks, after each
 * write and each close(2), the result (bytes written or the errno) and the
 * policy read back against a model of the grammar and of the file written
 * here from the admin guide, sharing nothing with the kernel's code.
 *
 * KPR_FUZZ_WRITES (default 1000) and KPR_FUZZ_SEED (default fixed) choose the
 * run; dev/test runs the default, and a long form is, for instance,
 * KPR_FUZZ_WRITES=500000 KPR_FUZZ_SEED=7 ./fuzz_test in the guest (the
 * CONTRIBUTING.md runs it in User-Mode Linux).  The model is cleared once it holds
 * more than KPR_FUZZ_MAX_RULES rules (default and most 1000) or renders more
 * than 64 bytes a rule: each accepted write rebuilds the whole policy, so a
 * smaller bound makes a long run faster, and the default keeps large policies
 * in the short run.
 */

#include "common.h"

#include <time.h>

#include "../kselftest_harness.h"

#define MAX_PATH_LEN 4095
#define MAX_LINE_LEN (4 * MAX_PATH_LEN + 32)
#define MAX_RULES 65536
#define MAX_PORT_ENTRIES 1048576
#define MAX_MODEL_RULES 4096	/* far more than a run ever holds */
#define TEXT_MAX (64 * 1024)
#define READ_MAX (4 << 20)

/* The selectors after a rule's ports, in the order rules sort them: none first. */
static const char *const protocols[] = { "", "tcp", "udp", "sctp" };

/* The atoms of a subject, in the order they are written and sorted. */
enum atom { ATOM_PROGRAM, ATOM_CGROUP, ATOM_UID, ATOM_GID, ATOMS };

#define CGROUP_PREFIX "cgroup:"

/* What the word of each atom starts with; a program's is the '/' of its path. */
static const char *const atom_prefixes[ATOMS] = { "", CGROUP_PREFIX, "uid:", "gid:" };

/* The longest subject as the policy file spells it: two escaped paths, two ids. */
#define MAX_SUBJECT_LEN (2 * 4 * MAX_PATH_LEN + 64)

/* A path, unescaped. */
struct model_path {
	size_t len;
	char bytes[MAX_PATH_LEN];
};

/*
 * One rule of the model: ports, selector (an index in protocols[]) and the
 * atoms of its subject, a bit of @atoms for each (none is <kernel>).
 */
struct model_rule {
	unsigned int low, high, protocol, atoms;
	struct model_path paths[ATOM_UID];	/* program, cgroup */
	unsigned int ids[ATOMS - ATOM_UID];	/* uid, gid */
};

struct model {
	size_t count;
	struct model_rule *rules;
	/* The length of the text last read back. */
	size_t rendered;
	/* Text written after the last newline, applied at close. */
	char *pending;
	size_t pending_len;
};

static unsigned long long rng_state;
static unsigned long max_rules = 1000;

/* Room for the subject of a rule, as the generator copies it. */
static char scratch[MAX_SUBJECT_LEN];

static unsigned int draw(unsigned int bound)
{
	return kpr_draw(&rng_state, bound);
}

static bool has_atom(const struct model_rule *r, unsigned int atom)
{
	return r->atoms & (1u << atom);
}

/* --- The model: grammar ------------------------------------------------- */

static bool must_escape(unsigned char c)
{
	return c <= ' ' || c >= 0x7f;
}

/* Whether the @len bytes at @s are @word. */
static bool word_is(const char *s, size_t len, const char *word)
{
	return len == strlen(word) && !memcmp(s, word, len);
}

/* A port: 1-65535 in decimal, no sign, no leading zero. */
static bool model_port(const char *s, size_t len, unsigned int *port)
{
	unsigned long value = 0;
	size_t i;

	if (!len || s[0] < '1' || s[0] > '9')
		return false;
	for (i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return false;
		value = value * 10 + (s[i] - '0');
		if (value > 65535)
			return false;
	}
	*port = value;
	return true;
}

/* PORTS or PORTS/PROTOCOL: a port or LOW-HIGH, and one of protocols[] after a '/'. */
static bool model_ports(const char *s, size_t len, struct model_rule *rule)
{
	const char *slash = memchr(s, '/', len), *dash;
	unsigned int i;

	rule->protocol = 0;
	if (slash) {
		for (i = 1; i < ARRAY_SIZE(protocols); i++)
			if (word_is(slash + 1, s + len - slash - 1, protocols[i]))
				rule->protocol = i;
		if (!rule->protocol)
			return false;
		len = slash - s;
	}
	dash = memchr(s, '-', len);
	if (!dash) {
		if (!model_port(s, len, &rule->low))
			return false;
		rule->high = rule->low;
		return true;
	}
	return model_port(s, dash - s, &rule->low) &&
	       model_port(dash + 1, len - (dash - s) - 1, &rule->high) &&
	       rule->low <= rule->high;
}

/* An absolute path, escaped: a program's, or a cgroup's after its prefix. */
static bool model_path(const char *s, size_t len, struct model_path *path)
{
	size_t i, start;
	int byte;

	path->len = 0;
	if (!len || s[0] != '/')
		return false;
	for (i = 0; i < len; i++) {
		unsigned char c = s[i];

		if (c != '\\') {
			if (must_escape(c))
				return false;
			byte = c;
		} else if (i + 1 < len && s[i + 1] == '\\') {
			byte = '\\';
			i++;
		} else if (i + 3 < len && s[i + 1] >= '0' && s[i + 1] <= '3' &&
			   s[i + 2] >= '0' && s[i + 2] <= '7' &&
			   s[i + 3] >= '0' && s[i + 3] <= '7') {
			byte = (s[i + 1] - '0') << 6 | (s[i + 2] - '0') << 3 | (s[i + 3] - '0');
			i += 3;
			if (!byte || !must_escape(byte))
				return false;
		} else {
			return false;
		}
		if (path->len == MAX_PATH_LEN)
			return false;
		path->bytes[path->len++] = byte;
	}
	/* No empty, "." or ".." component; the first byte is the leading '/'. */
	for (start = 1; start <= path->len; start = i + 1) {
		for (i = start; i < path->len && path->bytes[i] != '/'; i++)
			;
		if (i == start || (i - start == 1 && path->bytes[start] == '.') ||
		    (i - start == 2 && !memcmp(path->bytes + start, "..", 2)))
			return false;
	}
	return true;
}

/* A user or group id: "0", or decimal without a leading zero, below 4294967295. */
static bool model_id(const char *s, size_t len, unsigned int *id)
{
	unsigned long long value = 0;
	size_t i;

	if (!len || (s[0] == '0' && len > 1))
		return false;
	for (i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return false;
		value = value * 10 + (s[i] - '0');
		if (value >= 4294967295ULL)
			return false;
	}
	*id = value;
	return true;
}

/* One atom of a subject into @rule; returns which, or -1 if the word is none. */
static int model_atom(const char *s, size_t len, struct model_rule *rule)
{
	size_t skip;
	int atom;

	/* A word that starts with no other prefix can only be a program. */
	for (atom = ATOMS - 1; atom > ATOM_PROGRAM; atom--)
		if (len >= strlen(atom_prefixes[atom]) &&
		    !memcmp(s, atom_prefixes[atom], strlen(atom_prefixes[atom])))
			break;
	skip = strlen(atom_prefixes[atom]);
	if (atom < ATOM_UID)
		return model_path(s + skip, len - skip, &rule->paths[atom]) ? atom : -1;
	return model_id(s + skip, len - skip, &rule->ids[atom - ATOM_UID]) ? atom : -1;
}

enum line_kind { LINE_NONE, LINE_ADD, LINE_DELETE, LINE_CLEAR, LINE_LOCK };

/* Splits the next word off @line; returns its length, 0 at the end. */
static size_t next_word(const char **line, const char *end, const char **word)
{
	const char *p = *line;

	while (p < end && (*p == ' ' || *p == '\t'))
		p++;
	*word = p;
	while (p < end && *p != ' ' && *p != '\t')
		p++;
	*line = p;
	return p - *word;
}

/* Parses one line (no newline); false if the kernel must refuse it. */
static bool model_line(const char *line, size_t len, enum line_kind *kind,
		       struct model_rule *rule)
{
	const char *end = line + len, *word;
	int atom, last = -1;
	size_t n;

	*kind = LINE_NONE;
	if (len > MAX_LINE_LEN)
		return false;
	n = next_word(&line, end, &word);
	if (!n || word[0] == '#')
		return true;
	if (word_is(word, n, "clear") || word_is(word, n, "lock")) {
		*kind = n == 5 ? LINE_CLEAR : LINE_LOCK;
		return !next_word(&line, end, &word);
	}
	*kind = LINE_ADD;
	if (word_is(word, n, "delete")) {
		*kind = LINE_DELETE;
		n = next_word(&line, end, &word);
		if (!n)
			return false;
	}
	if (!model_ports(word, n, rule))
		return false;
	/* <kernel> alone, or atoms, each after the one before in their order. */
	rule->atoms = 0;
	n = next_word(&line, end, &word);
	if (word_is(word, n, "<kernel>"))
		return !next_word(&line, end, &word);
	for (; n; n = next_word(&line, end, &word)) {
		atom = model_atom(word, n, rule);
		if (atom <= last)
			return false;
		rule->atoms |= 1u << atom;
		last = atom;
	}
	return rule->atoms;
}

/* --- The model: rules ----------------------------------------------------- */

static int path_cmp(const struct model_path *a, const struct model_path *b)
{
	int c = memcmp(a->bytes, b->bytes, a->len < b->len ? a->len : b->len);

	if (c)
		return c < 0 ? -1 : 1;
	return (a->len > b->len) - (a->len < b->len);
}

/*
 * The policy's order: ports, selector, then <kernel> first, then atom by atom
 * in their order, a rule with the atom before one without it.
 */
static int rule_cmp(const struct model_rule *a, const struct model_rule *b)
{
	unsigned int atom, x, y;
	int c;

	if (a->low != b->low)
		return a->low < b->low ? -1 : 1;
	if (a->high != b->high)
		return a->high < b->high ? -1 : 1;
	if (a->protocol != b->protocol)
		return a->protocol < b->protocol ? -1 : 1;
	if (!a->atoms || !b->atoms)
		return !!a->atoms - !!b->atoms;
	for (atom = 0; atom < ATOMS; atom++) {
		if (has_atom(a, atom) != has_atom(b, atom))
			return has_atom(a, atom) ? -1 : 1;
		if (!has_atom(a, atom))
			continue;
		if (atom < ATOM_UID) {
			c = path_cmp(&a->paths[atom], &b->paths[atom]);
			if (c)
				return c;
			continue;
		}
		x = a->ids[atom - ATOM_UID];
		y = b->ids[atom - ATOM_UID];
		if (x != y)
			return x < y ? -1 : 1;
	}
	return 0;
}

static int rule_qsort_cmp(const void *a, const void *b)
{
	return rule_cmp(a, b);
}

static ssize_t find_rule(const struct model_rule *rules, size_t count,
			 const struct model_rule *rule)
{
	size_t i;

	for (i = 0; i < count; i++)
		if (!rule_cmp(&rules[i], rule))
			return i;
	return -1;
}

/*
 * Applies the complete lines of @text to @m as one transaction, as the policy
 * file does: every line applies or none.  Returns 0, -EINVAL, -E2BIG, or
 * -EPERM for a lock (which the fuzzer never lets through).
 */
static int model_apply(struct model *m, const char *text, size_t len)
{
	struct model_rule *work, rule;
	size_t count = m->count, i, ports = 0;
	const char *line = text, *nl;
	enum line_kind kind;
	bool bad = false, lock = false;
	ssize_t at;

	work = malloc(sizeof(*work) * MAX_MODEL_RULES);
	if (!work)
		return -ENOMEM;
	memcpy(work, m->rules, sizeof(*work) * count);
	while (line <= text + len) {
		nl = memchr(line, '\n', text + len - line);
		if (!nl)
			nl = text + len;
		if (!model_line(line, nl - line, &kind, &rule)) {
			free(work);
			return -EINVAL;
		}
		at = kind == LINE_ADD || kind == LINE_DELETE ? find_rule(work, count, &rule) : -1;
		if (kind == LINE_ADD && at < 0) {
			if (count == MAX_MODEL_RULES) {
				free(work);
				return -ENOSPC;	/* the generator never gets here */
			}
			work[count++] = rule;
		} else if (kind == LINE_DELETE && at < 0) {
			bad = true;	/* after every line parsed */
		} else if (kind == LINE_DELETE) {
			work[at] = work[--count];
		} else if (kind == LINE_CLEAR) {
			count = 0;
		} else if (kind == LINE_LOCK) {
			lock = true;
		}
		line = nl + 1;
	}
	for (i = 0; i < count; i++)
		ports += work[i].high - work[i].low + 1;
	if (!bad && (count > MAX_RULES || ports > MAX_PORT_ENTRIES)) {
		free(work);
		return -E2BIG;
	}
	if (bad || lock) {
		free(work);
		return bad ? -EINVAL : -EPERM;
	}
	qsort(work, count, sizeof(*work), rule_qsort_cmp);
	memcpy(m->rules, work, sizeof(*work) * count);
	m->count = count;
	free(work);
	return 0;
}

static bool is_blank(const char *text, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++)
		if (text[i] != ' ' && text[i] != '\t' && text[i] != '\n')
			return false;
	return true;
}

/*
 * What write(2) of @data returns, and the model after it: the pending text
 * and @data up to its last newline apply as one transaction; what follows
 * waits for its newline (or the close) unless it is too long.
 */
static ssize_t model_write(struct model *m, const char *data, size_t len)
{
	size_t total = m->pending_len + len, split = 0, i;
	char *text = malloc(total + 1);
	int err = 0;

	if (!text)
		return -ENOMEM;
	memcpy(text, m->pending, m->pending_len);
	memcpy(text + m->pending_len, data, len);
	for (i = total; i > 0; i--) {
		if (text[i - 1] == '\n') {
			split = i;
			break;
		}
	}
	if (total - split > MAX_LINE_LEN)
		err = -EINVAL;
	else if (!is_blank(text, split))
		err = model_apply(m, text, split);
	if (!err) {
		memmove(m->pending, text + split, total - split);
		m->pending_len = total - split;
	}
	free(text);
	return err ? err : (ssize_t)len;
}

/* What close(2) returns: the last line, if any, applies; the text is forgotten. */
static int model_close(struct model *m)
{
	int err = 0;

	if (!is_blank(m->pending, m->pending_len))
		err = model_apply(m, m->pending, m->pending_len);
	m->pending_len = 0;
	return err;
}

/* Writes the ports of @r and, if any, @protocol's selector at @out; returns the length. */
static size_t render_ports(const struct model_rule *r, unsigned int protocol, char *out)
{
	size_t n = sprintf(out, "%u", r->low);

	if (r->high != r->low)
		n += sprintf(out + n, "-%u", r->high);
	if (protocol)
		n += sprintf(out + n, "/%s", protocols[protocol]);
	return n;
}

/* Writes @atom of @r at @out, as the policy file spells it; returns the length. */
static size_t render_atom(const struct model_rule *r, unsigned int atom, char *out)
{
	const struct model_path *path;
	size_t n = sprintf(out, "%s", atom_prefixes[atom]), j;

	if (atom >= ATOM_UID)
		return n + sprintf(out + n, "%u", r->ids[atom - ATOM_UID]);
	path = &r->paths[atom];
	for (j = 0; j < path->len; j++) {
		unsigned char c = path->bytes[j];

		if (c == '\\')
			n += sprintf(out + n, "\\\\");
		else if (must_escape(c))
			n += sprintf(out + n, "\\%03o", c);
		else
			out[n++] = c;
	}
	return n;
}

/* Writes the subject of @r at @out: <kernel>, or its atoms and a space between. */
static size_t render_subject(const struct model_rule *r, char *out)
{
	unsigned int atom;
	size_t n = 0;

	if (!r->atoms)
		return sprintf(out, "<kernel>");
	for (atom = 0; atom < ATOMS; atom++) {
		if (!has_atom(r, atom))
			continue;
		if (n)
			out[n++] = ' ';
		n += render_atom(r, atom, out + n);
	}
	return n;
}

/* The policy file's text for the model's rules. */
static size_t model_render(const struct model *m, char *out)
{
	size_t i, n = 0;

	for (i = 0; i < m->count; i++) {
		const struct model_rule *r = &m->rules[i];

		n += render_ports(r, r->protocol, out + n);
		out[n++] = ' ';
		n += render_subject(r, out + n);
		out[n++] = '\n';
	}
	return n;
}

/* --- The generator -------------------------------------------------------- */

/* Ports, selectors and atoms: mostly well formed, and every way to get one wrong. */
static const char *const good_ports[] = {
	"1", "2", "80", "443", "1000", "1001", "1002", "1000-1002", "1001-1003", "65535",
	"65534-65535", "1-65535", "2-65535",
};

static const char *const bad_ports[] = {
	"0", "01", "+80", "65536", "1000-999", "-5", "5-", "1--2", "1-2-3", "99999999999",
	"8O", "0-5", "", "-",
};

static const char *const good_selectors[] = { "/tcp", "/udp", "/sctp" };

static const char *const bad_selectors[] = {
	"/", "/TCP", "/tcp/udp", "/dccp", "/mptcp", "/tc", "/sctpx", "//udp", "/udp/", "/-tcp",
	"/\001",
};

/* Paths, of programs and after "cgroup:". */
static const char *const good_paths[] = {
	"/a", "/a/b", "/usr/sbin/sshd", "/opt/my\\040app/run", "/x\\\\y", "/t\\011ab",
	"/h\\377igh", "/\\\\", "/d\\177el", "/\\040", "/a.b/..c/...", "/system.slice/a.socket",
	"/a\\\\x2db.slice", "/tcp", "/uid:0",
};

static const char *const bad_paths[] = {
	"/a/./b", "/a/../b", "/a//b", "/a/", "/", "a", "<kernel", "/n\\000ul", "/e\\101",
	"/bad\\8", "/q\\04", "/r\\400", "/o\\081", "/o\\018", "/s\\x20", "/\\", "/tab\tin",
	"/c\001r", "", "cgroup:/a", "<kernel>",
};

/* After "uid:" or "gid:". */
static const char *const good_ids[] = {
	"0", "1", "2", "33", "1000", "65534", "65535", "65536", "2147483648", "4294967294",
};

static const char *const bad_ids[] = {
	"", "00", "01", "+1", "-1", "0x1", "1a", "root", "4294967295", "4294967296",
	"99999999999", "18446744073709551617", "1/", "1:",
};

/* Words that are no atom, and <kernel> where only atoms may be: refused. */
static const char *const not_atoms[] = {
	"a", "<kernel>", "<kernel", "#x", "extra", "uid", "gid", "cgroup", "UID:1", "Gid:1",
	"user:1", "Cgroup:/a", "program:/a", "uid=1", "tcp", "80", "\\040",
};

/* One of @good, or one time in @odds one of @bad: most lines are well formed. */
static const char *pick_text(const char *const *good, size_t goods, const char *const *bad,
			     size_t bads, unsigned int odds)
{
	return draw(odds) ? good[draw(goods)] : bad[draw(bads)];
}

#define PICK(what, odds) pick_text(good_##what, ARRAY_SIZE(good_##what), bad_##what, \
				   ARRAY_SIZE(bad_##what), odds)

/* Appends @s to @text at *@n, as far as it fits. */
static void put(char *text, size_t *n, const char *s, size_t len)
{
	if (*n + len > TEXT_MAX)
		len = TEXT_MAX - *n;
	memcpy(text + *n, s, len);
	*n += len;
}

static void put_str(char *text, size_t *n, const char *s)
{
	put(text, n, s, strlen(s));
}

/* A path of @len bytes, each byte escaped if @escaped, else plain. */
static void put_long_path(char *text, size_t *n, size_t len, bool escaped)
{
	size_t i;

	put_str(text, n, "/");
	for (i = 1; i < len; i++)
		put_str(text, n, escaped ? "\\001" : (i % 200 ? "p" : "/"));
}

/* The ports of @r, with @protocol's selector, as the policy file spells them. */
static void put_rule_ports(const struct model_rule *r, unsigned int protocol, char *text,
			   size_t *n)
{
	char ports[32];

	put(text, n, ports, render_ports(r, protocol, ports));
}

/* The subject of @r, with all its atoms, as the policy file spells it. */
static void put_rule_subject(const struct model_rule *r, char *text, size_t *n)
{
	put(text, n, scratch, render_subject(r, scratch));
}

/* A rule the model holds, with @atom, from a random start; NULL if none. */
static const struct model_rule *rule_with(const struct model *m, unsigned int atom)
{
	size_t start, i;

	if (!m->count)
		return NULL;
	start = draw(m->count);
	for (i = 0; i < m->count; i++)
		if (has_atom(&m->rules[(start + i) % m->count], atom))
			return &m->rules[(start + i) % m->count];
	return NULL;
}

/*
 * One atom (ATOMS: a word that is none): of a rule the model holds, from the
 * lists, or with a long path.
 */
static void put_atom(const struct model *m, unsigned int atom, char *text, size_t *n)
{
	const struct model_rule *r = NULL;
	unsigned int pick = draw(20);

	if (atom == ATOMS) {
		put_str(text, n, not_atoms[draw(ARRAY_SIZE(not_atoms))]);
		return;
	}
	if (pick < 6)
		r = rule_with(m, atom);
	if (r) {
		put(text, n, scratch, render_atom(r, atom, scratch));
		return;
	}
	put_str(text, n, atom_prefixes[atom]);
	if (atom >= ATOM_UID)
		put_str(text, n, PICK(ids, 48));
	else if (pick < 18 || (atom == ATOM_CGROUP && pick < 19))
		/* Paths have more ways to go wrong than the rest. */
		put_str(text, n, PICK(paths, 16));
	else
		/* Around the longest path, plain or all escaped (near the longest line). */
		put_long_path(text, n, MAX_PATH_LEN - 1 + draw(3), draw(2));
}

/*
 * A subject: <kernel>, the subject of a rule the model holds, or one to four
 * atoms in their order; now and then refused, out of order, with an atom
 * repeated, with a word that is no atom, or <kernel> and an atom.
 */
static void put_subject(const struct model *m, char *text, size_t *n)
{
	unsigned int pick = draw(20), atoms, atom, order[ATOMS + 1], count = 0, i, at;

	if (pick < 2) {
		put_str(text, n, "<kernel>");
		if (!draw(8)) {
			put_str(text, n, " ");
			put_atom(m, draw(ATOMS + 1), text, n);
		}
		return;
	}
	if (pick < 5 && m->count) {
		put_rule_subject(&m->rules[draw(m->count)], text, n);
		return;
	}
	/* Mostly one atom, else any of them. */
	atoms = draw(2) ? 1u << draw(ATOMS) : 1 + draw((1u << ATOMS) - 1);
	for (atom = 0; atom < ATOMS; atom++)
		if (atoms & (1u << atom))
			order[count++] = atom;
	if (!draw(24)) {
		switch (count > 1 ? draw(3) : 1 + draw(2)) {
		case 0:		/* two atoms swapped */
			at = draw(count - 1);
			atom = order[at];
			order[at] = order[at + 1];
			order[at + 1] = atom;
			break;
		case 1:		/* an atom twice */
			at = draw(count);
			memmove(order + at + 1, order + at, (count++ - at) * sizeof(*order));
			break;
		default:	/* a word that is no atom, anywhere */
			at = draw(count + 1);
			memmove(order + at + 1, order + at, (count++ - at) * sizeof(*order));
			order[at] = ATOMS;
			break;
		}
	}
	for (i = 0; i < count; i++) {
		if (i)
			put_str(text, n, draw(8) ? " " : " \t");
		put_atom(m, order[i], text, n);
	}
}

/* Ports and, now and then, a selector. */
static void put_ports(char *text, size_t *n)
{
	put_str(text, n, PICK(ports, 48));
	if (!draw(3))
		put_str(text, n, PICK(selectors, 48));
}

/* One line of policy text, mostly well formed, with its newline. */
static void put_line(const struct model *m, char *text, size_t *n)
{
	static const char *const blanks[] = { " ", "\t", "  ", "" };
	const struct model_rule *r = m->count ? &m->rules[draw(m->count)] : NULL;
	unsigned int pick = draw(100);

	put_str(text, n, blanks[draw(4)]);
	if (pick < 3) {
		put_str(text, n, "clear");
	} else if (pick < 6) {
		put_str(text, n, "# a comment");
	} else if (pick < 8) {
		static const char *const wrong[] = {
			"clear x", "delete", "lock x", "lock\tlock", "80", "delete 80/tcp",
			"80/udp\t", "<kernel>", "delete <kernel>",
		};

		put_str(text, n, wrong[draw(ARRAY_SIZE(wrong))]);
	} else if (pick < 30 && r) {
		/* Mostly, a delete of a rule in force, with its selector and all its atoms. */
		put_str(text, n, "delete ");
		put_rule_ports(r, r->protocol, text, n);
		put_str(text, n, " ");
		put_rule_subject(r, text, n);
	} else {
		if (pick < 35)
			put_str(text, n, "delete ");
		/*
		 * Some adds name the ports of a rule in force, for another
		 * subject, or for its own and its selector or another.
		 */
		if (pick >= 35 && pick < 55 && r)
			put_rule_ports(r, draw(2) ? r->protocol : draw(ARRAY_SIZE(protocols)),
				       text, n);
		else
			put_ports(text, n);
		put_str(text, n, blanks[draw(3)]);
		put_str(text, n, " ");
		if (pick >= 45 && pick < 55 && r)
			put_rule_subject(r, text, n);
		else
			put_subject(m, text, n);
		if (!draw(30))
			put_str(text, n, " extra");
	}
	put_str(text, n, blanks[draw(4)]);
	if (draw(50))
		put_str(text, n, "\n");
}

/* Flips, inserts or deletes a few bytes, favouring the grammar's own. */
static void mutate(char *text, size_t *n)
{
	static const char bytes[] = "\n\t \\/-0123456789#<>.:\001\377";
	unsigned int count = draw(3), i;
	size_t at;

	for (i = 0; i < count && *n; i++) {
		at = draw(*n);
		switch (draw(3)) {
		case 0:
			text[at] = bytes[draw(sizeof(bytes) - 1)];
			break;
		case 1:
			memmove(text + at, text + at + 1, *n - at - 1);
			(*n)--;
			break;
		default:
			if (*n < TEXT_MAX) {
				memmove(text + at + 1, text + at, *n - at);
				text[at] = draw(2) ? bytes[draw(sizeof(bytes) - 1)] :
					   (char)draw(256);
				(*n)++;
			}
			break;
		}
	}
}

/*
 * The policy text of one open: a few lines, a line too long even for a path,
 * or one line padded with blanks to the longest a line may be or a byte more.
 */
static size_t generate(const struct model *m, char *text)
{
	unsigned int lines = 1 + draw(8), i;
	size_t n = 0, start, want;

	/* Keep the model and the text read back small. */
	if (m->count > max_rules || m->rendered > 64 * max_rules)
		put_str(text, &n, "clear\n");
	if (!draw(200)) {
		put_long_path(text, &n, MAX_LINE_LEN + draw(2), false);
		return n;
	}
	if (!draw(50)) {
		start = n;
		want = MAX_LINE_LEN + draw(2);
		put_line(m, text, &n);
		if (n > start && text[n - 1] == '\n')
			n--;
		while (n - start < want && n < TEXT_MAX)
			put_str(text, &n, (n - start) % 8 ? " " : "\t");
		/* Without its newline, it waits for the close, if not too long. */
		if (draw(2))
			put_str(text, &n, "\n");
		return n;
	}
	for (i = 0; i < lines; i++)
		put_line(m, text, &n);
	if (!draw(8))
		mutate(text, &n);
	return n;
}

/* Whether the line from @p to @end is "lock": its first word, and no other. */
static bool is_lock_line(const char *p, const char *end)
{
	const char *word;

	return next_word(&p, end, &word) == 4 && !memcmp(word, "lock", 4) &&
	       !next_word(&p, end, &word);
}

/*
 * Whether @text, written after what waits in @m, holds a "lock" line, as the
 * writes would apply it if none is refused: never written, as nothing unlocks
 * the policy.  "lock" with an argument is refused and written.  After a
 * refused write, the test asks again about the rest.
 */
static bool would_lock(const struct model *m, const char *text, size_t len)
{
	char *pending = malloc(m->pending_len + len + 1);
	const char *p, *end;
	bool lock = false;

	if (!pending)
		return true;
	/* Any line whose first word is "lock", however the writes split it. */
	memcpy(pending, m->pending, m->pending_len);
	memcpy(pending + m->pending_len, text, len);
	for (p = pending; p < pending + m->pending_len + len; p = end + 1) {
		end = memchr(p, '\n', pending + m->pending_len + len - p);
		if (!end)
			end = pending + m->pending_len + len;
		lock |= is_lock_line(p, end);
	}
	free(pending);
	return lock;
}

/*
 * Whether writing @len bytes of @text would leave a lone "lock" waiting for
 * its newline.  It could only ever apply as a lock: a later write that
 * completes it with an argument is refused and leaves it waiting, and the
 * close applies it.
 */
static bool leaves_lock_pending(const struct model *m, const char *text, size_t len)
{
	const char *newline = memrchr(text, '\n', len);
	char *partial;
	bool lock;

	if (newline)
		return is_lock_line(newline + 1, text + len);
	partial = malloc(m->pending_len + len);
	if (!partial)
		return true;
	memcpy(partial, m->pending, m->pending_len);
	memcpy(partial + m->pending_len, text, len);
	lock = is_lock_line(partial, partial + m->pending_len + len);
	free(partial);
	return lock;
}

FIXTURE(fuzz)
{
	char *saved;
	struct model model;
	char *text, *expected, *actual;
};

FIXTURE_SETUP(fuzz)
{
	const char *seed = getenv("KPR_FUZZ_SEED");
	const char *rules = getenv("KPR_FUZZ_MAX_RULES");

	if (!kpr_enabled())
		SKIP(return, "KPortReserve is not enabled");
	self->saved = kpr_save_policy();
	ASSERT_NE(NULL, self->saved);
	self->model.rules = calloc(MAX_MODEL_RULES, sizeof(struct model_rule));
	self->model.pending = malloc(2 * TEXT_MAX + MAX_LINE_LEN);
	self->text = malloc(TEXT_MAX + 1);
	self->expected = malloc(READ_MAX);
	self->actual = malloc(READ_MAX);
	ASSERT_TRUE(self->model.rules && self->model.pending && self->text &&
		    self->expected && self->actual);
	rng_state = (seed ? strtoull(seed, NULL, 0) : 20261129) | 1;
	/* At most the default: the model has room for a few more. */
	if (rules && strtoul(rules, NULL, 0) < max_rules)
		max_rules = strtoul(rules, NULL, 0);
}

FIXTURE_TEARDOWN(fuzz)
{
	kpr_restore_policy(self->saved);
	free(self->model.rules);
	free(self->model.pending);
	free(self->text);
	free(self->expected);
	free(self->actual);
}

/* Reads the whole policy file into @out; returns its length or -errno. */
static ssize_t read_policy(char *out)
{
	ssize_t n, total = 0;
	int fd = open(KPR_POLICY, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return -errno;
	/* In pieces of odd sizes, so that lines are read across reads. */
	while ((n = read(fd, out + total, 1 + draw(4096))) > 0 && total + n < READ_MAX - 4096)
		total += n;
	n = n < 0 ? -errno : total;
	close(fd);
	return n;
}

/*
 * Reads up to @len bytes at @at with pread(2) until they are all read or the
 * file ends: like any seq_file, the policy file may return fewer bytes than
 * asked before its end.  Returns the bytes read, or -1.
 */
static ssize_t pread_full(int fd, char *buf, size_t len, off_t at)
{
	size_t done = 0;
	ssize_t got;

	while (done < len) {
		got = pread(fd, buf + done, len - done, at + done);
		if (got < 0)
			return -1;
		if (got == 0)
			break;
		done += got;
	}
	return done;
}

/*
 * Reads the policy file at random offsets, backwards and forwards, with
 * pread(2) on one open, and compares each piece with @expected.  Returns 0,
 * or -1 after logging the first difference.
 */
static int check_preads(struct __test_metadata *const _metadata, const char *expected,
			size_t len)
{
	char piece[512];
	int fd = open(KPR_POLICY, O_RDONLY | O_CLOEXEC), i, ret = 0;
	size_t at, want;
	ssize_t got;

	if (fd < 0)
		return -1;
	for (i = 0; i < 4 && !ret; i++) {
		at = draw(len + 2);
		want = at < len ? len - at : 0;
		if (want > sizeof(piece))
			want = sizeof(piece);
		got = pread_full(fd, piece, sizeof(piece), at);
		if (got != (ssize_t)want || memcmp(piece, expected + at, want)) {
			TH_LOG("pread at %zu: %zd bytes, expected %zu", at, got, want);
			ret = -1;
		}
	}
	close(fd);
	return ret;
}

/* A long form may take hours: the harness's timeout would cut it short. */
TEST_F_TIMEOUT(fuzz, writes_match_the_model, 24 * 60 * 60)
{
	const char *count_env = getenv("KPR_FUZZ_WRITES");
	unsigned long opens = 0, writes = 0, refused = 0, count, i;
	time_t started;
	ssize_t got, want, expected_len;
	size_t len, at, piece;
	int fd;

	count = count_env ? strtoul(count_env, NULL, 0) : 1000;
	started = time(NULL);
	for (i = 0; i < count;) {
		len = generate(&self->model, self->text);
		if (would_lock(&self->model, self->text, len))
			continue;
		fd = open(KPR_POLICY, O_WRONLY | O_CLOEXEC);
		ASSERT_LE(0, fd);
		opens++;
		/* Cut at up to two random points: each piece is one write(2). */
		for (at = 0; at < len && i < count; at += piece, i++) {
			piece = draw(3) ? len - at : 1 + draw(len - at);
			if (leaves_lock_pending(&self->model, self->text + at, piece))
				piece = len - at;
			want = model_write(&self->model, self->text + at, piece);
			got = write(fd, self->text + at, piece);
			if (got < 0)
				got = -errno;
			writes++;
			refused += got < 0;
			ASSERT_EQ(want, got) {
				TH_LOG("write %lu (%zu bytes at %zu of): %.*s", i, piece, at,
				       (int)(len > 300 ? 300 : len), self->text);
			}
			/*
			 * A refused write leaves the text before it waiting, so
			 * the rest is no longer what would_lock() read: stop if
			 * it could now lock.
			 */
			if (got < 0 && would_lock(&self->model, self->text + at + piece,
						  len - at - piece)) {
				i++;
				break;
			}
		}
		want = model_close(&self->model);
		got = close(fd) ? -errno : 0;
		refused += got < 0;
		ASSERT_EQ(want, got) {
			TH_LOG("close after write %lu of: %.*s", i,
			       (int)(len > 300 ? 300 : len), self->text);
		}
		expected_len = model_render(&self->model, self->expected);
		self->model.rendered = expected_len;
		got = read_policy(self->actual);
		ASSERT_EQ(expected_len, got) {
			TH_LOG("after write %lu, expected: %.*s", i, (int)expected_len,
			       self->expected);
			TH_LOG("read back: %.*s", (int)(got > 0 ? got : 0), self->actual);
		}
		ASSERT_EQ(0, memcmp(self->expected, self->actual, expected_len)) {
			TH_LOG("after write %lu, expected: %.*s", i, (int)expected_len,
			       self->expected);
			TH_LOG("read back: %.*s", (int)got, self->actual);
		}
		ASSERT_EQ(0, check_preads(_metadata, self->expected, expected_len));
		/* A long run shows how far it got, should it be cut short. */
		if (count > 100000 && opens % 10000 == 0)
			TH_LOG("%lu writes, all as the model says, in %lld s", i,
			       (long long)(time(NULL) - started));
	}
	TH_LOG("%lu writes in %lu opens, %lu refused, %zu rules at the end, in %lld s",
	       writes, opens, refused, self->model.count, (long long)(time(NULL) - started));
}

TEST_HARNESS_MAIN
