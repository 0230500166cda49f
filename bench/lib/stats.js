export const median = (xs) => {
  const a = xs.filter((x) => typeof x === 'number' && Number.isFinite(x)).sort((p, q) => p - q);
  if (a.length === 0) return undefined;
  const m = Math.floor(a.length / 2);
  return a.length % 2 ? a[m] : (a[m - 1] + a[m]) / 2;
};
export const quantile = (xs, q) => {
  const a = [...xs].sort((p, r) => p - r);
  if (a.length === 0) return undefined;
  return a[Math.min(a.length - 1, Math.max(0, Math.ceil(q * a.length) - 1))];
};
export const max = (xs) => (xs.length ? Math.max(...xs) : undefined);
