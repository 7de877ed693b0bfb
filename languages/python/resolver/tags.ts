/**
 * The wheel tags pip accepts for the Lambda target, in pip's order of preference: what
 * `pip install --only-binary=:all: --implementation cp --python-version X.Y --abi cpXY
 * --platform ...` computes (pip's compatibility_tags.get_supported: packaging's cpython_tags
 * then compatible_tags, over the platforms after pip's manylinux2014/2010 expansion).
 * test/python-resolver-tags.test.ts proves the list equal to pip's own.
 */
import { cpythonTag, lambdaPlatformTags, type LambdaTarget } from '../../../lib/wheel-tags.js';

/** pip's _expand_allowed_platforms: manylinux2014 (x86_64/i686) adds 2010 and 1, 2010 adds 1; duplicates dropped. */
function expandPlatforms(platforms: string[]): string[] {
  const result: string[] = [];
  for (const platform of platforms) {
    const [prefix, suffix] = [platform.split('_')[0]!, platform.slice(platform.indexOf('_') + 1)];
    const more = prefix === 'manylinux2014' && (suffix === 'x86_64' || suffix === 'i686')
      ? [platform, `manylinux2010_${suffix}`, `manylinux1_${suffix}`]
      : prefix === 'manylinux2010' ? [platform, `manylinux1_${suffix}`] : [platform];
    for (const tag of more) if (!result.includes(tag)) result.push(tag);
  }
  return result;
}

/** `python-abi-platform` strings, most preferred first. */
export function supportedTags(target: LambdaTarget): string[] {
  const [major, minor] = target.pythonVersion.split('.').map(Number) as [number, number];
  const platforms = expandPlatforms(lambdaPlatformTags(target));
  const interpreter = cpythonTag(target.pythonVersion);
  const tags: string[] = [];
  const each = (python: string, abi: string) => platforms.forEach((platform) => tags.push(`${python}-${abi}-${platform}`));
  each(interpreter, interpreter);
  each(interpreter, 'abi3');
  each(interpreter, 'none');
  for (let older = minor - 1; older > 1; older--) each(`cp${major}${older}`, 'abi3');
  const pythons = [`py${major}${minor}`, `py${major}`, ...Array.from({ length: minor }, (_, index) => `py${major}${minor - 1 - index}`)];
  for (const python of pythons) each(python, 'none');
  tags.push(`${interpreter}-none-any`);
  for (const python of pythons) tags.push(`${python}-none-any`);
  return tags;
}

/** Each supported tag's rank (0 = most preferred). */
export function tagRanks(target: LambdaTarget): Map<string, number> {
  return new Map(supportedTags(target).map((tag, index) => [tag, index]));
}
