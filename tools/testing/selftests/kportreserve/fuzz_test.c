// SPDX-License-Identifier: GPL-2.0
/*
 * KPortReserve selftests - the policy file against a model of its grammar
 *
 * Writes random and grammar-aware mutated policy text (rules, deletes,
 * ranges, escapes, clear, comments, oversized lines and paths, split into
 * several write(2) calls at random points) and checks, after each write and
 * each close(2), the result (bytes written or the errno) and the policy read
 * back against a model of the grammar and of the file written here from the
 * admin guide, sharing nothing with the kernel's code.
 *
 * KPR_FUZZ_WRITES (default 1000) and KPR_FUZZ_SEED (default fixed) choose the
 * run; dev/test runs the default, and a long form is, for instance,
 * KPR_FUZZ_WRITES=500000 KPR_FUZZ_SEED=7 ./fuzz_test in the guest (the
 * README runs it in User-Mode Linux).  The model is cleared once it holds
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

/* Who a rule names, in the order the policy sorts them. */
enum subject_kind { SUBJECT_KERNEL, SUBJECT_PROGRAM, SUBJECT_CGROUP };

#define CGROUP_PREFIX "cgroup:"

/* One rule of the model: ports, its kind of subject and, unescaped, its path. */
struct model_rule {
	unsigned int low, high;
	enum subject_kind kind;
	size_t len;
	char path[MAX_PATH_LEN + 1];
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

static unsigned int draw(unsigned int bound)
{
	return kpr_draw(&rng_state, bound);
}

/* --- The model: grammar ------------------------------------------------- */

static bool must_escape(unsigned char c)
{
	return c <= ' ' || c >= 0x7f;
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

static bool model_ports(const char *s, size_t len, struct model_rule *rule)
{
	const char *dash = memchr(s, '-', len);

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

static bool model_program(const char *s, size_t len, struct model_rule *rule)
{
	size_t i, start;
	int byte;

	rule->len = 0;
	rule->kind = SUBJECT_PROGRAM;
	if (len == 8 && !memcmp(s, "<kernel>", 8)) {
		rule->kind = SUBJECT_KERNEL;
		return true;
	}
	if (len >= strlen(CGROUP_PREFIX) && !memcmp(s, CGROUP_PREFIX, strlen(CGROUP_PREFIX))) {
		rule->kind = SUBJECT_CGROUP;
		s += strlen(CGROUP_PREFIX);
		len -= strlen(CGROUP_PREFIX);
	}
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
		if (rule->len == MAX_PATH_LEN)
			return false;
		rule->path[rule->len++] = byte;
	}
	/* No empty, "." or ".." component; the first byte is the leading '/'. */
	for (start = 1; start <= rule->len; start = i + 1) {
		for (i = start; i < rule->len && rule->path[i] != '/'; i++)
			;
		if (i == start || (i - start == 1 && rule->path[start] == '.') ||
		    (i - start == 2 && !memcmp(rule->path + start, "..", 2)))
			return false;
	}
	return true;
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
	size_t n;

	*kind = LINE_NONE;
	if (len > MAX_LINE_LEN)
		return false;
	n = next_word(&line, end, &word);
	if (!n || word[0] == '#')
		return true;
	if ((n == 5 && !memcmp(word, "clear", 5)) || (n == 4 && !memcmp(word, "lock", 4))) {
		*kind = n == 5 ? LINE_CLEAR : LINE_LOCK;
		return !next_word(&line, end, &word);
	}
	*kind = LINE_ADD;
	if (n == 6 && !memcmp(word, "delete", 6)) {
		*kind = LINE_DELETE;
		n = next_word(&line, end, &word);
		if (!n)
			return false;
	}
	if (!model_ports(word, n, rule))
		return false;
	n = next_word(&line, end, &word);
	if (!n || !model_program(word, n, rule))
		return false;
	return !next_word(&line, end, &word);
}

/* --- The model: rules ----------------------------------------------------- */

static int rule_cmp(const struct model_rule *a, const struct model_rule *b)
{
	size_t n = a->len < b->len ? a->len : b->len;
	int c;

	if (a->low != b->low)
		return a->low < b->low ? -1 : 1;
	if (a->high != b->high)
		return a->high < b->high ? -1 : 1;
	if (a->kind != b->kind)
		return a->kind < b->kind ? -1 : 1;
	c = memcmp(a->path, b->path, n);
	if (c)
		return c < 0 ? -1 : 1;
	return (a->len > b->len) - (a->len < b->len);
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

/* The policy file's text for the model's rules. */
static size_t model_render(const struct model *m, char *out)
{
	size_t i, j, n = 0;

	for (i = 0; i < m->count; i++) {
		const struct model_rule *r = &m->rules[i];

		n += sprintf(out + n, "%u", r->low);
		if (r->high != r->low)
			n += sprintf(out + n, "-%u", r->high);
		if (r->kind == SUBJECT_KERNEL) {
			n += sprintf(out + n, " <kernel>\n");
			continue;
		}
		out[n++] = ' ';
		if (r->kind == SUBJECT_CGROUP)
			n += sprintf(out + n, CGROUP_PREFIX);
		for (j = 0; j < r->len; j++) {
			unsigned char c = r->path[j];

			if (c == '\\')
				n += sprintf(out + n, "\\\\");
			else if (must_escape(c))
				n += sprintf(out + n, "\\%03o", c);
			else
				out[n++] = c;
		}
		out[n++] = '\n';
	}
	return n;
}

/* --- The generator -------------------------------------------------------- */

/* Ports and programs: mostly well formed, and every way to get one wrong. */
static const char *const good_ports[] = {
	"1", "2", "80", "443", "1000", "1001", "1002", "1000-1002", "1001-1003", "65535",
	"65534-65535", "1-65535", "2-65535",
};

static const char *const bad_ports[] = {
	"0", "01", "+80", "65536", "1000-999", "-5", "5-", "1--2", "1-2-3", "99999999999",
	"8O", "0-5",
};

static const char *const good_paths[] = {
	"/a", "/a/b", "/usr/sbin/sshd", "/opt/my\\040app/run", "/x\\\\y", "/t\\011ab",
	"/h\\377igh", "/\\\\", "/d\\177el", "/\\040", "<kernel>", "/a.b/..c/...",
	"cgroup:/system.slice/a.socket", "cgroup:/a", "cgroup:/a\\\\x2db.slice", "cgroup:/\\040",
};

static const char *const bad_paths[] = {
	"/a/./b", "/a/../b", "/a//b", "/a/", "/", "a", "<kernel", "/n\\000ul", "/e\\101",
	"/bad\\8", "/q\\04", "/r\\400", "/tab\tin", "/c\001r",
	"cgroup:", "cgroup:/", "cgroup:a", "cgroup:/a/../b", "Cgroup:/a", "cgroup:<kernel>",
	"cgroup:cgroup:/a", "cgroup:/e\\101",
};

/* One of @good, or now and then one of @bad: most lines are well formed. */
static const char *pick_text(const char *const *good, size_t goods, const char *const *bad,
			     size_t bads)
{
	return draw(48) ? good[draw(goods)] : bad[draw(bads)];
}

#define GOOD_PORT() pick_text(good_ports, ARRAY_SIZE(good_ports), bad_ports, ARRAY_SIZE(bad_ports))
#define GOOD_PATH() pick_text(good_paths, ARRAY_SIZE(good_paths), bad_paths, ARRAY_SIZE(bad_paths))

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

/* The program of @r, escaped as the policy file spells it. */
static void put_rule_program(const struct model_rule *r, char *text, size_t *n)
{
	char buf[8];
	size_t j;

	if (r->kind == SUBJECT_KERNEL) {
		put_str(text, n, "<kernel>");
		return;
	}
	if (r->kind == SUBJECT_CGROUP)
		put_str(text, n, CGROUP_PREFIX);
	for (j = 0; j < r->len; j++) {
		unsigned char c = r->path[j];

		if (c == '\\')
			put_str(text, n, "\\\\");
		else if (must_escape(c))
			put(text, n, buf, sprintf(buf, "\\%03o", c));
		else
			put(text, n, (char *)&c, 1);
	}
}

/* A program: from the list, of a rule the model holds, or a long one. */
static void put_program(const struct model *m, char *text, size_t *n)
{
	unsigned int pick = draw(20);

	if (pick < 12)
		put_str(text, n, GOOD_PATH());
	else if (pick < 18 && m->count)
		put_rule_program(&m->rules[draw(m->count)], text, n);
	else
		/* Around the longest path, plain or all escaped (near the longest line). */
		put_long_path(text, n, MAX_PATH_LEN - 1 + draw(3), draw(2));
}

/* The ports of @r, as the policy file spells them. */
static void put_rule_ports(const struct model_rule *r, char *text, size_t *n)
{
	char ports[16];

	put(text, n, ports, r->low == r->high ? sprintf(ports, "%u", r->low) :
		sprintf(ports, "%u-%u", r->low, r->high));
}

/* One line of policy text, mostly well formed, with its newline. */
static void put_line(const struct model *m, char *text, size_t *n)
{
	static const char *const blanks[] = { " ", "\t", "  ", "" };
	unsigned int pick = draw(100);

	put_str(text, n, blanks[draw(4)]);
	if (pick < 3) {
		put_str(text, n, "clear");
	} else if (pick < 6) {
		put_str(text, n, "# a comment");
	} else if (pick < 8) {
		static const char *const wrong[] = { "clear x", "delete", "lock x", "lock\tlock" };

		put_str(text, n, wrong[draw(ARRAY_SIZE(wrong))]);
	} else if (pick < 30 && m->count) {
		/* Mostly, a delete of a rule in force. */
		const struct model_rule *r = &m->rules[draw(m->count)];

		put_str(text, n, "delete ");
		put_rule_ports(r, text, n);
		put_str(text, n, " ");
		put_rule_program(r, text, n);
	} else {
		if (pick < 35)
			put_str(text, n, "delete ");
		/* Some adds name the ports of a rule in force, for another program. */
		if (pick >= 35 && pick < 55 && m->count)
			put_rule_ports(&m->rules[draw(m->count)], text, n);
		else
			put_str(text, n, GOOD_PORT());
		put_str(text, n, blanks[draw(3)]);
		put_str(text, n, " ");
		put_program(m, text, n);
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
	static const char bytes[] = "\n\t \\/-0123456789#<>.\001\377";
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
				text[at] = draw(2) ? bytes[draw(sizeof(bytes) - 1)] : draw(256);
				(*n)++;
			}
			break;
		}
	}
}

/* The policy text of one open: a few lines, or a line too long even for a path. */
static size_t generate(const struct model *m, char *text)
{
	unsigned int lines = 1 + draw(8), i;
	size_t n = 0;

	/* Keep the model and the text read back small. */
	if (m->count > max_rules || m->rendered > 64 * max_rules)
		put_str(text, &n, "clear\n");
	if (!draw(200)) {
		put_long_path(text, &n, MAX_LINE_LEN + draw(2), false);
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
