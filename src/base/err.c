// SPDX-License-Identifier: Apache-2.0
/* err.c - names, messages and API codes of enum ff_err. */
#include "ff_setup.h"
#include <stdarg.h>
#include "err.h"

struct err_info {
	int value;
	int api;
	const char *name;
	const char *msg;
};

static const struct err_info err_table[] = {
#define FF_ERR_ROW(n, v, c, m) { (v), (c), "FF_" #n, (m) },
	FF_ERR_MAP(FF_ERR_ROW)
#undef FF_ERR_ROW
};

static const struct err_info *err_find(int code)
{
	for (size_t i = 0; i < FF_ARRAY_SIZE(err_table); i++)
		if (err_table[i].value == code)
			return &err_table[i];
	return NULL;
}

const char *ff_strerror(int code)
{
	const struct err_info *e = err_find(code);
	return e ? e->msg : "unknown error";
}

const char *ff_errname(int code)
{
	const struct err_info *e = err_find(code);
	return e ? e->name : "FF_E?";
}

int ff_api_code(int code)
{
	const struct err_info *e = err_find(code);
	return e ? e->api : 6000;
}

int ff_from_errno(int e)
{
	if (e > 0)
		e = -e;
	if (e == 0)
		return FF_EIO;
	return err_find(e) ? e : FF_EIO;
}

static void err_clean(char *s)
{
	for (; *s; s++)
		if (*s == '\n' || *s == '\r')
			*s = ' ';
}

int ff_error_set(struct ff_error *err, int code, const char *fmt, ...)
{
	if (!err)
		return code;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
	va_end(ap);
	err_clean(err->msg);
	err->code = code;
	return code;
}

void ff_error_prefix(struct ff_error *err, const char *fmt, ...)
{
	if (!err)
		return;
	char prefix[FF_ERROR_MSG_MAX];
	char old[FF_ERROR_MSG_MAX];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(prefix, sizeof(prefix), fmt, ap);
	va_end(ap);
	memcpy(old, err->msg, sizeof(old));
	if (old[0])
		snprintf(err->msg, sizeof(err->msg), "%s: %s", prefix, old);
	else
		snprintf(err->msg, sizeof(err->msg), "%s", prefix);
	err_clean(err->msg);
}

const char *ff_error_msg(const struct ff_error *err, int code)
{
	if (err && err->msg[0])
		return err->msg;
	return ff_strerror(code);
}

void ff_error_clear(struct ff_error *err)
{
	if (!err)
		return;
	err->code = 0;
	err->msg[0] = '\0';
}
