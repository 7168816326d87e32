// A small JSON reader for the launch plan: parse once into a tree, then look values up by key.
// The plan is trusted input from skiff itself, but malformed text still fails cleanly, freeing
// what it made (the keeper parses leases for ever), and never reads past the text's end: it is
// fuzzed (test/fuzz/plan_fuzz.c).
#include "shim.h"

#include <stdlib.h>
#include <string.h>

struct parser {
	const char *p;
	const char *end;
};

static void skip_ws(struct parser *ps)
{
	while (ps->p < ps->end && (*ps->p == ' ' || *ps->p == '\t' || *ps->p == '\n' || *ps->p == '\r'))
		ps->p++;
}

static struct json *new_node(enum json_type type)
{
	struct json *j = calloc(1, sizeof(*j));
	if (!j)
		die_errno("malloc", NULL, 0);
	j->type = type;
	return j;
}

static void put_utf8(char **out, unsigned cp)
{
	char *o = *out;
	if (cp < 0x80) {
		*o++ = (char)cp;
	} else if (cp < 0x800) {
		*o++ = (char)(0xc0 | (cp >> 6));
		*o++ = (char)(0x80 | (cp & 0x3f));
	} else if (cp < 0x10000) {
		*o++ = (char)(0xe0 | (cp >> 12));
		*o++ = (char)(0x80 | ((cp >> 6) & 0x3f));
		*o++ = (char)(0x80 | (cp & 0x3f));
	} else {
		*o++ = (char)(0xf0 | (cp >> 18));
		*o++ = (char)(0x80 | ((cp >> 12) & 0x3f));
		*o++ = (char)(0x80 | ((cp >> 6) & 0x3f));
		*o++ = (char)(0x80 | (cp & 0x3f));
	}
	*out = o;
}

static int hex4(const char *s, unsigned *v)
{
	*v = 0;
	for (int i = 0; i < 4; i++) {
		char c = s[i];
		*v <<= 4;
		if (c >= '0' && c <= '9')
			*v |= (unsigned)(c - '0');
		else if (c >= 'a' && c <= 'f')
			*v |= (unsigned)(c - 'a' + 10);
		else if (c >= 'A' && c <= 'F')
			*v |= (unsigned)(c - 'A' + 10);
		else
			return -1;
	}
	return 0;
}

static char *parse_string(struct parser *ps)
{
	// The decoded text is never longer than the encoded text.
	const char *start = ++ps->p;
	const char *q = start;
	while (q < ps->end && *q != '"') {
		if (*q == '\\')
			q++;
		q++;
	}
	if (q >= ps->end)
		return NULL;
	char *buf = malloc((size_t)(q - start) + 1);
	if (!buf)
		die_errno("malloc", NULL, 0);
	char *o = buf;
	while (ps->p < q) {
		char c = *ps->p++;
		if (c != '\\') {
			*o++ = c;
			continue;
		}
		c = *ps->p++;
		switch (c) {
		case 'n': *o++ = '\n'; break;
		case 't': *o++ = '\t'; break;
		case 'r': *o++ = '\r'; break;
		case 'b': *o++ = '\b'; break;
		case 'f': *o++ = '\f'; break;
		case 'u': {
			unsigned cp, lo;
			if (q - ps->p < 4 || hex4(ps->p, &cp) < 0) {
				free(buf);
				return NULL;
			}
			ps->p += 4;
			// A surrogate pair encodes one code point above U+FFFF.
			if (cp >= 0xd800 && cp < 0xdc00 && q - ps->p >= 6 && ps->p[0] == '\\' && ps->p[1] == 'u' &&
			    hex4(ps->p + 2, &lo) == 0 && lo >= 0xdc00 && lo < 0xe000) {
				cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
				ps->p += 6;
			}
			put_utf8(&o, cp);
			break;
		}
		default: *o++ = c; break; // \" \\ \/
		}
	}
	*o = '\0';
	ps->p = q + 1;
	return buf;
}

static struct json *parse_value(struct parser *ps, int depth);

/* An object's or array's members, up to its closing bracket; NULL (all freed) when malformed. */
static struct json *parse_members(struct parser *ps, struct json *j, int depth)
{
	char close = j->type == JSON_OBJECT ? '}' : ']';
	struct json **tail = &j->child;
	ps->p++;
	skip_ws(ps);
	if (ps->p < ps->end && *ps->p == close) {
		ps->p++;
		return j;
	}
	for (;;) {
		char *key = NULL;
		skip_ws(ps);
		if (j->type == JSON_OBJECT) {
			if (ps->p >= ps->end || *ps->p != '"' || !(key = parse_string(ps)))
				break;
			skip_ws(ps);
			if (ps->p >= ps->end || *ps->p++ != ':') {
				free(key);
				break;
			}
		}
		struct json *v = parse_value(ps, depth + 1);
		if (!v) {
			free(key);
			break;
		}
		v->key = key;
		*tail = v;
		tail = &v->next;
		j->len++;
		skip_ws(ps);
		if (ps->p < ps->end && *ps->p == ',') {
			ps->p++;
			continue;
		}
		if (ps->p < ps->end && *ps->p == close) {
			ps->p++;
			return j;
		}
		break;
	}
	json_free(j);
	return NULL;
}

/* Whether the text at the parser starts with `word` (within the text's end). */
static int starts(const struct parser *ps, const char *word)
{
	size_t n = strlen(word);
	return (size_t)(ps->end - ps->p) >= n && !memcmp(ps->p, word, n);
}

static struct json *parse_value(struct parser *ps, int depth)
{
	skip_ws(ps);
	if (ps->p >= ps->end || depth > 64)
		return NULL;
	char c = *ps->p;
	if (c == '"') {
		struct json *j = new_node(JSON_STRING);
		if (!(j->str = parse_string(ps))) {
			free(j);
			return NULL;
		}
		return j;
	}
	if (c == '{' || c == '[')
		return parse_members(ps, new_node(c == '{' ? JSON_OBJECT : JSON_ARRAY), depth);
	if (starts(ps, "true") || starts(ps, "false")) {
		struct json *j = new_node(JSON_BOOL);
		j->num = *ps->p == 't';
		ps->p += j->num ? 4 : 5;
		return j;
	}
	if (starts(ps, "null")) {
		ps->p += 4;
		return new_node(JSON_NULL);
	}
	// a number, read from a copy that ends where the text does (strtod reads to a NUL)
	char num[64];
	size_t n = 0;
	while (ps->p + n < ps->end && n < sizeof(num) - 1 && strchr("+-0123456789.eE", ps->p[n]) && ps->p[n])
		n++;
	memcpy(num, ps->p, n);
	num[n] = 0;
	char *endp;
	double d = strtod(num, &endp);
	if (endp == num)
		return NULL;
	ps->p += endp - num;
	struct json *j = new_node(JSON_NUMBER);
	j->num = d;
	return j;
}

/* A parsed tree freed (long-lived processes, such as the network keeper, parse many). */
void json_free(struct json *j)
{
	while (j) {
		struct json *next = j->next;
		json_free(j->child);
		free(j->key);
		free(j->str);
		free(j);
		j = next;
	}
}

struct json *json_parse(const char *text, size_t len)
{
	struct parser ps = { text, text + len };
	struct json *j = parse_value(&ps, 0);
	skip_ws(&ps);
	if (ps.p != ps.end) {
		json_free(j);
		return NULL;
	}
	return j;
}

const struct json *json_get(const struct json *obj, const char *key)
{
	if (!obj || obj->type != JSON_OBJECT)
		return NULL;
	for (const struct json *c = obj->child; c; c = c->next)
		if (!strcmp(c->key, key))
			return c;
	return NULL;
}

const char *json_str(const struct json *obj, const char *key)
{
	const struct json *v = json_get(obj, key);
	return v && v->type == JSON_STRING ? v->str : NULL;
}

double json_num(const struct json *obj, const char *key, double fallback)
{
	const struct json *v = json_get(obj, key);
	return v && v->type == JSON_NUMBER ? v->num : fallback;
}

int json_bool(const struct json *obj, const char *key)
{
	const struct json *v = json_get(obj, key);
	return v && v->type == JSON_BOOL && v->num != 0;
}

char **json_strv(const struct json *arr)
{
	size_t n = arr && arr->type == JSON_ARRAY ? arr->len : 0;
	char **v = calloc(n + 1, sizeof(char *));
	if (!v)
		die_errno("malloc", NULL, 0);
	size_t i = 0;
	for (const struct json *c = n ? arr->child : NULL; c; c = c->next)
		if (c->type == JSON_STRING)
			v[i++] = c->str;
	return v;
}

int json_has_string(const struct json *arr, const char *s)
{
	for (const struct json *c = arr && arr->type == JSON_ARRAY ? arr->child : NULL; c; c = c->next)
		if (c->type == JSON_STRING && !strcmp(c->str, s))
			return 1;
	return 0;
}
