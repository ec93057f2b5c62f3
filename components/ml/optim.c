// SPDX-License-Identifier: Apache-2.0
/*
 * optim.c - torch.optim update rules on a shadow parameter, and torch's
 * chainable LR schedulers (see optim.h for the rules).
 *
 * Each update keeps torch's order of floating-point operations (lerp from
 * the nearer end, sqrt before division by the bias correction, ...) so the
 * numpy re-implementation in tests/reference/ml_ref.py, written from torch's
 * source the same way, agrees to the last bit or so.
 */
#include "ff_setup.h"
#include <math.h>
#include "mem.h"
#include "optim.h"

static const struct {
	const char *name;
	enum optim_method m;
} optim_names[] = {
	{ "sgd", OPTIM_SGD },         { "rmsprop", OPTIM_RMSPROP },
	{ "adam", OPTIM_ADAM },       { "adamw", OPTIM_ADAMW },
	{ "adagrad", OPTIM_ADAGRAD }, { "adadelta", OPTIM_ADADELTA },
	{ "adamax", OPTIM_ADAMAX },   { "nadam", OPTIM_NADAM },
	{ "radam", OPTIM_RADAM },     { "asgd", OPTIM_ASGD },
	{ "rprop", OPTIM_RPROP },
};

int optim_method_parse(const char *name, enum optim_method *out,
		       struct ff_error *err)
{
	for (size_t i = 0; name && i < FF_ARRAY_SIZE(optim_names); i++)
		if (strcmp(name, optim_names[i].name) == 0) {
			*out = optim_names[i].m;
			return FF_OK;
		}
	return ff_error_set(err, FF_EINVAL, "unknown optimizer '%s'",
			    name ? name : "(null)");
}

const char *optim_method_name(enum optim_method m)
{
	for (size_t i = 0; i < FF_ARRAY_SIZE(optim_names); i++)
		if (optim_names[i].m == m)
			return optim_names[i].name;
	return "?";
}

void optim_params_default(enum optim_method m, struct optim_params *p)
{
	*p = (struct optim_params){
		.lr = 1e-3, .eps = 1e-8, .beta1 = 0.9, .beta2 = 0.999,
		.alpha = 0.99, .rho = 0.9, .momentum_decay = 4e-3,
		.lambd = 1e-4, .t0 = 1e6,
		.eta_minus = 0.5, .eta_plus = 1.2, .step_min = 1e-6, .step_max = 50,
	};
	switch (m) {
	case OPTIM_RMSPROP:
		p->lr = 1e-2;
		break;
	case OPTIM_ADAMW:
		p->weight_decay = 1e-2;
		break;
	case OPTIM_ADAGRAD:
		p->lr = 1e-2;
		p->eps = 1e-10;
		break;
	case OPTIM_ADADELTA:
		p->lr = 1.0;
		p->eps = 1e-6;
		break;
	case OPTIM_ADAMAX:
	case OPTIM_NADAM:
		p->lr = 2e-3;
		break;
	case OPTIM_ASGD:
		p->lr = 1e-2;
		p->alpha = 0.75;
		break;
	case OPTIM_RPROP:
		p->lr = 1e-2;
		break;
	default:
		break;
	}
}

/* Bit set of the torch keyword arguments each method accepts. */
enum {
	K_LR = 1 << 0, K_WD = 1 << 1, K_MOM = 1 << 2, K_DAMP = 1 << 3,
	K_NEST = 1 << 4, K_ALPHA = 1 << 5, K_EPS = 1 << 6, K_CENT = 1 << 7,
	K_BETAS = 1 << 8, K_AMS = 1 << 9, K_LRD = 1 << 10, K_IAV = 1 << 11,
	K_RHO = 1 << 12, K_MD = 1 << 13, K_LAMBD = 1 << 14, K_T0 = 1 << 15,
	K_ETAS = 1 << 16, K_STEPS = 1 << 17,
};

static unsigned optim_keys(enum optim_method m)
{
	switch (m) {
	case OPTIM_SGD: return K_LR | K_WD | K_MOM | K_DAMP | K_NEST;
	case OPTIM_RMSPROP: return K_LR | K_WD | K_MOM | K_ALPHA | K_EPS | K_CENT;
	case OPTIM_ADAM:
	case OPTIM_ADAMW: return K_LR | K_WD | K_BETAS | K_EPS | K_AMS;
	case OPTIM_ADAGRAD: return K_LR | K_WD | K_EPS | K_LRD | K_IAV;
	case OPTIM_ADADELTA: return K_LR | K_WD | K_EPS | K_RHO;
	case OPTIM_ADAMAX: return K_LR | K_WD | K_BETAS | K_EPS;
	case OPTIM_NADAM: return K_LR | K_WD | K_BETAS | K_EPS | K_MD;
	case OPTIM_RADAM: return K_LR | K_WD | K_BETAS | K_EPS;
	case OPTIM_ASGD: return K_LR | K_WD | K_ALPHA | K_LAMBD | K_T0;
	case OPTIM_RPROP: return K_LR | K_ETAS | K_STEPS;
	default: return 0;
	}
}

int optim_params_set(struct optim_params *p, enum optim_method m,
		     const char *key, double value, struct ff_error *err)
{
	const struct {
		const char *key;
		unsigned bit;
		double *field;
		bool *flag;
	} keys[] = {
		{ "lr", K_LR, &p->lr, NULL },
		{ "weight_decay", K_WD, &p->weight_decay, NULL },
		{ "momentum", K_MOM, &p->momentum, NULL },
		{ "dampening", K_DAMP, &p->dampening, NULL },
		{ "nesterov", K_NEST, NULL, &p->nesterov },
		{ "alpha", K_ALPHA, &p->alpha, NULL },
		{ "eps", K_EPS, &p->eps, NULL },
		{ "centered", K_CENT, NULL, &p->centered },
		{ "betas.0", K_BETAS, &p->beta1, NULL },
		{ "betas.1", K_BETAS, &p->beta2, NULL },
		{ "amsgrad", K_AMS, NULL, &p->amsgrad },
		{ "lr_decay", K_LRD, &p->lr_decay, NULL },
		{ "initial_accumulator_value", K_IAV,
		  &p->initial_accumulator_value, NULL },
		{ "rho", K_RHO, &p->rho, NULL },
		{ "momentum_decay", K_MD, &p->momentum_decay, NULL },
		{ "lambd", K_LAMBD, &p->lambd, NULL },
		{ "t0", K_T0, &p->t0, NULL },
		{ "etas.0", K_ETAS, &p->eta_minus, NULL },
		{ "etas.1", K_ETAS, &p->eta_plus, NULL },
		{ "step_sizes.0", K_STEPS, &p->step_min, NULL },
		{ "step_sizes.1", K_STEPS, &p->step_max, NULL },
	};

	for (size_t i = 0; key && i < FF_ARRAY_SIZE(keys); i++) {
		if (strcmp(key, keys[i].key) != 0)
			continue;
		if (!(optim_keys(m) & keys[i].bit))
			break;
		if (keys[i].flag) {
			if (value != 0.0 && value != 1.0)
				return ff_error_set(err, FF_EINVAL,
						    "optimizer flag '%s' must be 0 or 1",
						    key);
			*keys[i].flag = value != 0.0;
		} else {
			*keys[i].field = value;
		}
		return FF_OK;
	}
	return ff_error_set(err, FF_EINVAL,
			    "optimizer '%s' has no parameter '%s'",
			    optim_method_name(m), key ? key : "(null)");
}

void optim_release(struct optim *o)
{
	if (!o)
		return;
	ff_free(o->param);
	ff_free(o->s1);
	ff_free(o->s2);
	ff_free(o->s3);
	*o = (struct optim)OPTIM_INIT;
}

static bool optim_in(double v, double lo, double hi)
{
	return isfinite(v) && v >= lo && v <= hi;
}

/* The checks torch's constructors make, plus finiteness. */
static int optim_validate(enum optim_method m, const struct optim_params *p,
			  struct ff_error *err)
{
	if (!optim_in(p->lr, 0.0, INFINITY))
		return ff_error_set(err, FF_EINVAL, "invalid learning rate %g", p->lr);
	if (!optim_in(p->weight_decay, 0.0, INFINITY))
		return ff_error_set(err, FF_EINVAL, "invalid weight_decay %g",
				    p->weight_decay);
	if (!optim_in(p->eps, 0.0, INFINITY))
		return ff_error_set(err, FF_EINVAL, "invalid eps %g", p->eps);
	switch (m) {
	case OPTIM_SGD:
		if (!optim_in(p->momentum, 0.0, INFINITY)
		    || !isfinite(p->dampening))
			return ff_error_set(err, FF_EINVAL, "invalid momentum %g",
					    p->momentum);
		if (p->nesterov && (p->momentum <= 0.0 || p->dampening != 0.0))
			return ff_error_set(err, FF_EINVAL,
					    "nesterov momentum requires a momentum and zero dampening");
		break;
	case OPTIM_RMSPROP:
		if (!optim_in(p->momentum, 0.0, INFINITY))
			return ff_error_set(err, FF_EINVAL, "invalid momentum %g",
					    p->momentum);
		if (!optim_in(p->alpha, 0.0, INFINITY))
			return ff_error_set(err, FF_EINVAL, "invalid alpha %g", p->alpha);
		break;
	case OPTIM_ADAM:
	case OPTIM_ADAMW:
	case OPTIM_ADAMAX:
	case OPTIM_NADAM:
	case OPTIM_RADAM:
		if (!optim_in(p->beta1, 0.0, 1.0) || p->beta1 == 1.0
		    || !optim_in(p->beta2, 0.0, 1.0) || p->beta2 == 1.0)
			return ff_error_set(err, FF_EINVAL, "invalid betas (%g, %g)",
					    p->beta1, p->beta2);
		if (m == OPTIM_NADAM && !optim_in(p->momentum_decay, 0.0, INFINITY))
			return ff_error_set(err, FF_EINVAL, "invalid momentum_decay %g",
					    p->momentum_decay);
		break;
	case OPTIM_ADAGRAD:
		if (!optim_in(p->lr_decay, 0.0, INFINITY)
		    || !optim_in(p->initial_accumulator_value, 0.0, INFINITY))
			return ff_error_set(err, FF_EINVAL,
					    "invalid lr_decay or initial_accumulator_value");
		break;
	case OPTIM_ADADELTA:
		if (!optim_in(p->rho, 0.0, 1.0))
			return ff_error_set(err, FF_EINVAL, "invalid rho %g", p->rho);
		break;
	case OPTIM_ASGD:
		if (!isfinite(p->lambd) || !isfinite(p->alpha) || !isfinite(p->t0))
			return ff_error_set(err, FF_EINVAL, "invalid asgd parameters");
		break;
	case OPTIM_RPROP:
		if (!(optim_in(p->eta_minus, 0.0, 1.0) && p->eta_minus > 0.0
		      && p->eta_minus < 1.0 && isfinite(p->eta_plus)
		      && p->eta_plus > 1.0))
			return ff_error_set(err, FF_EINVAL, "invalid etas (%g, %g)",
					    p->eta_minus, p->eta_plus);
		if (!(optim_in(p->step_min, 0.0, INFINITY)
		      && optim_in(p->step_max, p->step_min, INFINITY)))
			return ff_error_set(err, FF_EINVAL,
					    "invalid step_sizes (%g, %g)",
					    p->step_min, p->step_max);
		break;
	default:
		return ff_error_set(err, FF_EINVAL, "unknown optimizer %d", (int)m);
	}
	return FF_OK;
}

int optim_init(struct optim *o, enum optim_method m,
	       const struct optim_params *p, size_t n, struct ff_error *err)
{
	int ret;

	*o = (struct optim)OPTIM_INIT;
	if (!p || n == 0)
		return ff_error_set(err, FF_EINVAL, "optimizer needs parameters");
	ret = optim_validate(m, p, err);
	if (ret)
		return ret;
	o->method = m;
	o->p = *p;
	o->n = n;
	FF_ALLOC_ARRAY(o->param, n);
	FF_ALLOC_ARRAY(o->s1, n);
	FF_ALLOC_ARRAY(o->s2, n);
	FF_ALLOC_ARRAY(o->s3, n);
	if (!o->param || !o->s1 || !o->s2 || !o->s3) {
		optim_release(o);
		return ff_error_set(err, FF_ENOMEM, "cannot allocate optimizer state");
	}
	if (m == OPTIM_ADAGRAD)
		for (size_t i = 0; i < n; i++)
			o->s1[i] = p->initial_accumulator_value;
	o->mu_product = 1.0;
	o->eta = p->lr;
	o->mu = 1.0;
	return FF_OK;
}

/* torch.lerp(a, b, w) for scalars: interpolate from the nearer end. */
static double optim_lerp(double a, double b, double w)
{
	return w < 0.5 ? a + w * (b - a) : b - (b - a) * (1.0 - w);
}

static double optim_sign(double v)
{
	return (v > 0.0) - (v < 0.0);
}

static void optim_sgd(struct optim *o, size_t i, double g, double lr)
{
	const struct optim_params *p = &o->p;
	double *buf = o->s1;

	if (p->momentum != 0.0) {
		if (o->step == 1)
			buf[i] = g;
		else
			buf[i] = buf[i] * p->momentum + (1.0 - p->dampening) * g;
		g = p->nesterov ? g + p->momentum * buf[i] : buf[i];
	}
	o->param[i] += -lr * g;
}

static void optim_rmsprop(struct optim *o, size_t i, double g, double lr)
{
	const struct optim_params *p = &o->p;
	double *sq = o->s1, *ga = o->s2, *buf = o->s3;
	double avg;

	sq[i] = sq[i] * p->alpha + (1.0 - p->alpha) * g * g;
	if (p->centered) {
		ga[i] = optim_lerp(ga[i], g, 1.0 - p->alpha);
		avg = sqrt(sq[i] + -1.0 * ga[i] * ga[i]) + p->eps;
	} else {
		avg = sqrt(sq[i]) + p->eps;
	}
	if (p->momentum > 0.0) {
		buf[i] = buf[i] * p->momentum + g / avg;
		o->param[i] += -lr * buf[i];
	} else {
		o->param[i] += -lr * (g / avg);
	}
}

static void optim_adam(struct optim *o, size_t i, double g, double lr)
{
	const struct optim_params *p = &o->p;
	double *m = o->s1, *v = o->s2, *vmax = o->s3;
	double t = (double)o->step;
	double bc1 = 1.0 - pow(p->beta1, t), bc2 = 1.0 - pow(p->beta2, t);
	double step_size = lr / bc1, bc2_sqrt = sqrt(bc2), denom;

	m[i] = optim_lerp(m[i], g, 1.0 - p->beta1);
	v[i] = v[i] * p->beta2 + (1.0 - p->beta2) * g * g;
	if (p->amsgrad) {
		vmax[i] = v[i] > vmax[i] ? v[i] : vmax[i];
		denom = sqrt(vmax[i]) / bc2_sqrt + p->eps;
	} else {
		denom = sqrt(v[i]) / bc2_sqrt + p->eps;
	}
	o->param[i] += -step_size * (m[i] / denom);
}

static void optim_adagrad(struct optim *o, size_t i, double g, double lr)
{
	const struct optim_params *p = &o->p;
	double clr = lr / (1.0 + (double)(o->step - 1) * p->lr_decay);

	o->s1[i] += g * g;
	o->param[i] += -clr * (g / (sqrt(o->s1[i]) + p->eps));
}

static void optim_adadelta(struct optim *o, size_t i, double g, double lr)
{
	const struct optim_params *p = &o->p;
	double *sq = o->s1, *acc = o->s2;

	sq[i] = sq[i] * p->rho + (1.0 - p->rho) * g * g;
	double std = sqrt(sq[i] + p->eps);
	double delta = sqrt(acc[i] + p->eps) / std * g;

	acc[i] = acc[i] * p->rho + (1.0 - p->rho) * delta * delta;
	o->param[i] += -lr * delta;
}

static void optim_adamax(struct optim *o, size_t i, double g, double lr)
{
	const struct optim_params *p = &o->p;
	double *m = o->s1, *u = o->s2;
	double clr = lr / (1.0 - pow(p->beta1, (double)o->step));
	double a = u[i] * p->beta2, b = fabs(g) + p->eps;

	m[i] = optim_lerp(m[i], g, 1.0 - p->beta1);
	u[i] = a > b ? a : b;
	o->param[i] += -clr * (m[i] / u[i]);
}

static void optim_nadam(struct optim *o, size_t i, double g, double lr,
			double mu, double mu_next)
{
	const struct optim_params *p = &o->p;
	double *m = o->s1, *v = o->s2;
	double bc2 = 1.0 - pow(p->beta2, (double)o->step);
	double prod_next = o->mu_product * mu_next;

	m[i] = optim_lerp(m[i], g, 1.0 - p->beta1);
	v[i] = v[i] * p->beta2 + (1.0 - p->beta2) * g * g;
	double denom = sqrt(v[i] / bc2) + p->eps;

	o->param[i] += (-lr * (1.0 - mu) / (1.0 - o->mu_product)) * (g / denom);
	o->param[i] += ((-lr * mu_next) / (1.0 - prod_next)) * (m[i] / denom);
}

static void optim_radam(struct optim *o, size_t i, double g, double lr)
{
	const struct optim_params *p = &o->p;
	double *m = o->s1, *v = o->s2;
	double t = (double)o->step;
	double b2t = pow(p->beta2, t);
	double bc1 = 1.0 - pow(p->beta1, t), bc2 = 1.0 - b2t;
	double rho_inf = 2.0 / (1.0 - p->beta2) - 1.0;
	double rho_t = rho_inf - 2.0 * t * b2t / bc2;

	m[i] = optim_lerp(m[i], g, 1.0 - p->beta1);
	v[i] = v[i] * p->beta2 + (1.0 - p->beta2) * g * g;
	double corrected = m[i] / bc1;

	if (rho_t > 5.0) {
		double rect = sqrt((rho_t - 4.0) * (rho_t - 2.0) * rho_inf
				   / ((rho_inf - 4.0) * (rho_inf - 2.0) * rho_t));
		double adaptive = sqrt(bc2) / (sqrt(v[i]) + p->eps);

		o->param[i] += -(corrected * lr * adaptive * rect);
	} else {
		o->param[i] += -(corrected * lr);
	}
}

static void optim_asgd(struct optim *o, size_t i, double g)
{
	const struct optim_params *p = &o->p;
	double *ax = o->s1;

	o->param[i] *= 1.0 - p->lambd * o->eta;
	o->param[i] += -o->eta * g;
	if (o->mu != 1.0)
		ax[i] += (o->param[i] - ax[i]) * o->mu;
	else
		ax[i] = o->param[i];
}

static void optim_rprop(struct optim *o, size_t i, double g, double lr)
{
	const struct optim_params *p = &o->p;
	double *prev = o->s1, *step = o->s2;
	double s = optim_sign(g * prev[i]), f;

	if (o->step == 1)
		step[i] = lr;
	f = s > 0.0 ? p->eta_plus : s < 0.0 ? p->eta_minus : 1.0;
	step[i] *= f;
	step[i] = step[i] < p->step_min ? p->step_min
		: step[i] > p->step_max ? p->step_max : step[i];
	if (f == p->eta_minus)
		g = 0.0;
	o->param[i] += -(optim_sign(g) * step[i]);
	prev[i] = g;
}

int optim_step(struct optim *o, const double *g, double lr, double *delta,
	       struct ff_error *err)
{
	const struct optim_params *p;
	double mu = 0.0, mu_next = 0.0;

	if (!o || !o->param || !g || !delta)
		return ff_error_set(err, FF_EINVAL, "optimizer is not initialised");
	if (!(isfinite(lr) && lr >= 0.0))
		return ff_error_set(err, FF_EINVAL, "invalid learning rate %g", lr);
	for (size_t i = 0; i < o->n; i++)
		if (!isfinite(g[i]))
			return ff_error_set(err, FF_EINVAL,
					    "non-finite gradient at index %zu", i);
	p = &o->p;
	o->step++;
	if (o->method == OPTIM_NADAM) {
		double t = (double)o->step;

		mu = p->beta1 * (1.0 - 0.5 * pow(0.96, t * p->momentum_decay));
		mu_next = p->beta1
			* (1.0 - 0.5 * pow(0.96, (t + 1.0) * p->momentum_decay));
		o->mu_product *= mu;
	}
	for (size_t i = 0; i < o->n; i++) {
		double before = o->param[i];
		double gi = g[i];

		if (o->method == OPTIM_ADAMW)
			o->param[i] *= 1.0 - lr * p->weight_decay;
		else if (p->weight_decay != 0.0 && o->method != OPTIM_RPROP)
			gi = gi + p->weight_decay * o->param[i];
		switch (o->method) {
		case OPTIM_SGD: optim_sgd(o, i, gi, lr); break;
		case OPTIM_RMSPROP: optim_rmsprop(o, i, gi, lr); break;
		case OPTIM_ADAM:
		case OPTIM_ADAMW: optim_adam(o, i, gi, lr); break;
		case OPTIM_ADAGRAD: optim_adagrad(o, i, gi, lr); break;
		case OPTIM_ADADELTA: optim_adadelta(o, i, gi, lr); break;
		case OPTIM_ADAMAX: optim_adamax(o, i, gi, lr); break;
		case OPTIM_NADAM: optim_nadam(o, i, gi, lr, mu, mu_next); break;
		case OPTIM_RADAM: optim_radam(o, i, gi, lr); break;
		case OPTIM_ASGD: optim_asgd(o, i, gi); break;
		case OPTIM_RPROP: optim_rprop(o, i, gi, lr); break;
		}
		delta[i] = before - o->param[i];
	}
	if (o->method == OPTIM_ASGD) {
		double t = (double)o->step;

		o->eta = lr / pow(1.0 + p->lambd * lr * t, p->alpha);
		o->mu = 1.0 / fmax(1.0, t - p->t0);
	}
	return FF_OK;
}

int sched_method_parse(const char *name, enum sched_method *out,
		       struct ff_error *err)
{
	if (name && strcmp(name, "constant") == 0)
		*out = SCHED_CONSTANT;
	else if (name && strcmp(name, "linear") == 0)
		*out = SCHED_LINEAR;
	else if (name && strcmp(name, "step") == 0)
		*out = SCHED_STEP;
	else
		return ff_error_set(err, FF_EINVAL,
				    "unknown learning rate scheduler '%s'",
				    name ? name : "(null)");
	return FF_OK;
}

void sched_params_default(struct sched_params *p)
{
	*p = (struct sched_params){
		.factor = 1.0 / 3.0, .total_iters = 5, .start_factor = 1.0 / 3.0,
		.end_factor = 1.0, .step_size = 1, .gamma = 0.1,
	};
}

int sched_init(struct sched *s, enum sched_method m,
	       const struct sched_params *p, double base_lr,
	       struct ff_error *err)
{
	if (!p || !(isfinite(base_lr) && base_lr >= 0.0))
		return ff_error_set(err, FF_EINVAL, "invalid base learning rate");
	switch (m) {
	case SCHED_CONSTANT:
		if (!optim_in(p->factor, 0.0, 1.0))
			return ff_error_set(err, FF_EINVAL,
					    "constant factor %g is outside [0, 1]",
					    p->factor);
		break;
	case SCHED_LINEAR:
		if (!(optim_in(p->start_factor, 0.0, 1.0) && p->start_factor > 0.0))
			return ff_error_set(err, FF_EINVAL,
					    "start_factor %g is outside (0, 1]",
					    p->start_factor);
		if (!optim_in(p->end_factor, 0.0, 1.0))
			return ff_error_set(err, FF_EINVAL,
					    "end_factor %g is outside [0, 1]",
					    p->end_factor);
		break;
	case SCHED_STEP:
		if (p->step_size == 0 || !isfinite(p->gamma))
			return ff_error_set(err, FF_EINVAL, "invalid step scheduler");
		break;
	default:
		return ff_error_set(err, FF_EINVAL, "unknown scheduler %d", (int)m);
	}
	s->method = m;
	s->p = *p;
	s->last_epoch = 0;
	s->lr = base_lr;
	if (m == SCHED_CONSTANT)
		s->lr = base_lr * p->factor;
	else if (m == SCHED_LINEAR)
		s->lr = base_lr * p->start_factor;
	return FF_OK;
}

void sched_step(struct sched *s)
{
	const struct sched_params *p = &s->p;
	unsigned long e = ++s->last_epoch;

	switch (s->method) {
	case SCHED_CONSTANT:
		if (e == p->total_iters)
			s->lr = s->lr * (1.0 / p->factor);
		break;
	case SCHED_LINEAR:
		if (e > p->total_iters)
			break;
		s->lr = s->lr * (1.0 + (p->end_factor - p->start_factor)
				 / ((double)p->total_iters * p->start_factor
				    + (double)(e - 1) * (p->end_factor - p->start_factor)));
		break;
	case SCHED_STEP:
		if (e % p->step_size == 0)
			s->lr = s->lr * p->gamma;
		break;
	}
}
