/**
 * Go's strconv float formatting ('e', 'f', 'g' with a precision or shortest), as fmt uses it:
 * exponents have at least two digits and %g switches to %e below 1e-4 or at its precision.
 */

/** Shortest decimal digits and decimal-point position of |v| (v finite). */
function shortestDigits(v: number): { digits: string; dp: number } {
  if (v === 0) return { digits: '0', dp: 1 };
  const [mant, exp] = Math.abs(v).toExponential().split('e') as [string, string];
  return { digits: mant.replace('.', ''), dp: Number(exp) + 1 };
}

/** The decimal digits of |v| (exact for every tie that can occur) and the point position. */
function exactDigits(v: number): { digits: string; dp: number } {
  const [mant, exp] = Math.abs(v).toExponential(99).split('e') as [string, string];
  return { digits: mant.replace('.', '').replace(/0+$/, '') || '0', dp: Number(exp) + 1 };
}

/** Rounds |v| to `n` significant digits (n may be <= 0), ties to even as Go's strconv does. */
function roundDigits(v: number, n: number): { digits: string; dp: number } {
  let { digits, dp } = exactDigits(v);
  if (n >= digits.length) return { digits: digits.padEnd(Math.max(n, 0), '0'), dp };
  if (n < 0) return { digits: '', dp: dp - n };
  const rest = digits.slice(n);
  const kept = digits.slice(0, n);
  const last = n > 0 ? Number(kept[n - 1]) : 0;
  const up = rest[0]! > '5' || (rest[0] === '5' && (/[1-9]/.test(rest.slice(1)) || last % 2 === 1));
  if (!up) return { digits: kept, dp };
  const arr = kept.split('').map(Number);
  let i = arr.length - 1;
  for (; i >= 0; i--) {
    if (arr[i]! < 9) {
      arr[i]!++;
      break;
    }
    arr[i] = 0;
  }
  if (i < 0) {
    arr.unshift(1);
    arr.pop();
    dp++;
    if (n === 0) return { digits: '1', dp };
  }
  return { digits: arr.join(''), dp };
}

/** Digits of |v| rounded to `n` significant digits (n >= 1). */
function precisionDigits(v: number, n: number): { digits: string; dp: number } {
  if (v === 0) return { digits: '0'.repeat(n), dp: 1 };
  return roundDigits(v, n);
}

function expForm(digits: string, dp: number, prec: number, upper: boolean): string {
  let d = digits;
  if (prec >= 0) d = d.padEnd(prec + 1, '0').slice(0, prec + 1);
  const mant = d.length > 1 ? `${d[0]}.${d.slice(1)}` : d;
  const e = digits === '0' || /^0+$/.test(digits) ? 0 : dp - 1;
  const es = Math.abs(e).toString().padStart(2, '0');
  return `${mant}${upper ? 'E' : 'e'}${e < 0 ? '-' : '+'}${es}`;
}

function fixedForm(digits: string, dp: number, prec: number): string {
  let intPart: string;
  let frac: string;
  if (dp <= 0) {
    intPart = '0';
    frac = '0'.repeat(-dp) + digits;
  } else if (dp >= digits.length) {
    intPart = digits + '0'.repeat(dp - digits.length);
    frac = '';
  } else {
    intPart = digits.slice(0, dp);
    frac = digits.slice(dp);
  }
  if (prec >= 0) frac = frac.padEnd(prec, '0').slice(0, prec);
  return frac.length > 0 ? `${intPart}.${frac}` : intPart;
}

/** strconv.FormatFloat(v, fmt, prec, 64) for fmt in e E f F g G (prec -1 = shortest). */
export function formatFloat(v: number, fmt: string, prec: number): string {
  if (Number.isNaN(v)) return 'NaN';
  if (!Number.isFinite(v)) return v > 0 ? '+Inf' : '-Inf';
  const neg = v < 0 || Object.is(v, -0);
  const sign = neg ? '-' : '';
  const upper = fmt === 'E' || fmt === 'G';
  if (fmt === 'e' || fmt === 'E') {
    const { digits, dp } = prec < 0 ? shortestDigits(v) : precisionDigits(v, prec + 1);
    return sign + expForm(digits, dp, prec, upper);
  }
  if (fmt === 'f' || fmt === 'F') {
    if (prec < 0) {
      const { digits, dp } = shortestDigits(v);
      return sign + fixedForm(digits, dp, -1);
    }
    if (v === 0) return sign + fixedForm('0', 1, prec);
    const probe = exactDigits(v);
    const { digits, dp } = roundDigits(v, probe.dp + prec);
    return sign + fixedForm(digits || '0', digits ? dp : 1, prec);
  }
  // 'g' / 'G'
  let { digits, dp } = prec < 0 ? shortestDigits(v) : precisionDigits(v, prec === 0 ? 1 : prec);
  let eprec = prec < 0 ? 6 : prec === 0 ? 1 : prec;
  if (prec >= 0) {
    digits = digits.replace(/0+$/, '') || '0';
    if (eprec > digits.length && digits.length >= dp) eprec = digits.length;
  }
  const exp = dp - 1;
  if (v !== 0 && (exp < -4 || exp >= eprec)) return sign + expForm(digits, dp, -1, upper);
  if (v === 0) return sign + '0';
  return sign + fixedForm(digits, dp, Math.max(digits.length - dp, 0));
}
