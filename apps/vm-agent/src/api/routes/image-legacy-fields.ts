/**
 * Image inspect's `Container` (the container a legacy `docker build` step
 * committed) and `ContainerConfig` (that container's config).
 *
 * dockerd drops them from API 1.45 on, but clients written before that read
 * them unconditionally, and docker-py negotiates the newest version the
 * engine offers: docker-compose 1.29 indexes `ContainerConfig['Volumes']`
 * whenever it recreates a container and dies with `KeyError:
 * 'ContainerConfig'` if the field is missing (as it does against dockerd 26
 * and later). The API's schema is open (clients ignore fields they do not
 * know), so we keep both fields on every version: an extra field breaks no
 * one, a missing one breaks those clients. Images without a
 * `container_config` get the zero-valued config, as dockerd 25 gave them.
 */
import type { ImageConfig } from '../../images/manifest.js';

/** Go's zero container.Config as dockerd serializes it. */
const EMPTY_CONTAINER_CONFIG = {
  Hostname: '',
  Domainname: '',
  User: '',
  AttachStdin: false,
  AttachStdout: false,
  AttachStderr: false,
  Tty: false,
  OpenStdin: false,
  StdinOnce: false,
  Env: null,
  Cmd: null,
  Image: '',
  Volumes: null,
  WorkingDir: '',
  Entrypoint: null,
  OnBuild: null,
  Labels: null,
};

/** The two fields, for an image inspect answer of any API version. */
export function legacyImageFields(config: ImageConfig): { Container: string; ContainerConfig: Record<string, unknown> } {
  const cc = config.container_config;
  return {
    Container: typeof config.container === 'string' ? config.container : '',
    ContainerConfig: cc && typeof cc === 'object' ? { ...EMPTY_CONTAINER_CONFIG, ...cc } : { ...EMPTY_CONTAINER_CONFIG },
  };
}
