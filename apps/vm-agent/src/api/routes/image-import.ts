/**
 * `POST /images/create?fromSrc=-`: `docker import`, read as dockerd's
 * postImagesCreate reads it. The body is the tar; `repo` and `tag` name the
 * image (no digest), `message` is its comment ("Imported from -" without
 * one), each `changes` is a Dockerfile instruction for the run config (the
 * same rules as `docker commit --change`), `platform` is recorded
 * (`linux/ARCH[/VARIANT]`; the engine's own by default). The answer is one
 * JSON line, `{"status":"sha256:..."}`, which the CLI prints.
 *
 * `fromSrc=URL` (dockerd downloads the tar itself) is refused: the engine
 * fetching what a client names is not something Berth does; the client can
 * download it and send the bytes.
 */
import { applyCommitChanges } from '../../build/commit-changes.js';
import type { RunConfig } from '../../build/config-rules.js';
import { invalidParameter, notImplemented } from '../../errors.js';
import type { ImageConfigBody } from '../../images/image-commit.js';
import type { ImageService } from '../../images/image-service.js';
import { enginePlatform, type Platform } from '../../images/manifest.js';
import { parseReference, repositoryName, withDefaultTag, type Reference } from '../../images/reference.js';
import { JsonLines } from '../http-io.js';
import type { RequestContext } from '../router.js';

/** Architecture names as containerd normalizes them. */
const ARCH_ALIASES: Record<string, string> = { x86_64: 'amd64', 'x86-64': 'amd64', aarch64: 'arm64', armhf: 'arm', armel: 'arm', i386: '386' };

/** `platform=linux/arm64/v8`; the engine's own when empty. Only Linux images run here. */
export function importPlatform(text: string | null): Platform {
  if (!text) return enginePlatform();
  const [os, arch, variant, extra] = text.toLowerCase().split('/');
  if (!os || extra !== undefined || (arch !== undefined && !arch))
    throw invalidParameter(`"${text}": unknown platform: use os/arch[/variant], e.g. linux/amd64`);
  if (os !== 'linux') throw invalidParameter(`operating system is not supported: ${os} (this engine runs linux images)`);
  if (arch === undefined) return enginePlatform();
  const architecture = ARCH_ALIASES[arch] ?? arch;
  return variant ? { os, architecture, variant } : { os, architecture };
}

/** dockerd's RepoTagReference: untagged without a repo, `latest` by default, a digest refused. */
export function importReference(repo: string, tag: string): Reference | undefined {
  if (!repo) return undefined;
  const ref = parseReference(repo);
  if (ref.digest !== undefined) throw invalidParameter('cannot import digest reference');
  if (!tag) return withDefaultTag(ref);
  return parseReference(`${repositoryName(ref)}:${tag}`);
}

export async function importFromRequest({ req, res, query }: RequestContext, images: ImageService): Promise<void> {
  const src = query.get('fromSrc')!;
  if (src !== '-') {
    throw notImplemented(
      `importing from a URL is not supported (fromSrc=${src}): download the archive and import the file (docker import FILE), or pipe it (curl -L URL | docker import -)`,
    );
  }
  // Everything that can be refused is refused before the body is read.
  const reference = importReference(query.get('repo') ?? '', query.get('tag') ?? '');
  const changes = query.getAll('changes').filter((c) => c.trim() !== '');
  const config = changes.length ? (applyCommitChanges({} as RunConfig, changes) as ImageConfigBody['config']) : undefined;
  const platform = importPlatform(query.get('platform'));
  const comment = query.get('message') || `Imported from ${src}`;
  const out = new JsonLines(res);
  try {
    const image = await images.import({ archive: req, config, comment, platform, reference });
    out.write({ status: image.id });
  } catch (err) {
    if (!out.hasStarted) throw err;
    out.error(err);
  }
  out.end();
}
