/**
 * The schema of each action LAVA accepts, by kind and method: `deploy` by `to`,
 * `boot` by `method`, `test` by which of `definitions`/`interactive`/`monitors`/
 * `services` it has, and `command`. Written from LAVA's schema rules
 * (lava_common/schemas); every method LAVA's HEAD accepts is here.
 */
import { timeout } from "./timeouts.ts";
import {
  anything,
  bool,
  dict,
  either,
  int,
  isMapping,
  list,
  literal,
  map,
  type MapSpec,
  oneOf,
  report,
  str,
  strOrList,
  type Validator,
} from "./schema.ts";

const NAME = /^[-_a-zA-Z0-9.]+$/;
const DOCKER_IMAGE = /^[a-z0-9]+[a-z0-9._/:-]*[a-z0-9]+(:[a-zA-Z0-9_]+[a-zA-Z0-9._-]*)?$/;
const RESERVED_NAMESPACES = ["common", "docker-test-shell"];

const positive = int({ min: 1 });
const nonNegative = int({ min: 0 });
const stringList = list(str());
const testName = str({ pattern: NAME, patternName: "a name of letters, digits, - _ and ." });

/** Keys every action may have. */
const ACTION_KEYS: Readonly<Record<string, Validator>> = {
  namespace: (value, path, check) => {
    str()(value, path, check);
    if (typeof value === "string" && RESERVED_NAMESPACES.includes(value)) {
      report(check, path, "'common' and 'docker-test-shell' are reserved namespace names");
    }
  },
  "connection-namespace": str(),
  protocols: anything,
  role: list(str()),
  timeout,
  timeouts: dict(timeout),
  repeat: positive,
  failure_retry: positive,
  failure_retry_interval: positive,
};

/**
 * Keys no action may have together: a block repeated N times cannot also be
 * retried (LAVA fails such a job when it starts; here it is refused at submission).
 */
const ACTION_EXCLUSIVE: readonly (readonly string[])[] = [["repeat", "failure_retry"]];

const dockerImageName = str({ pattern: DOCKER_IMAGE, patternName: "a docker image name" });

function docker(imageKey = "image", extra: Record<string, Validator> = {}): Validator {
  return map({
    required: { [imageKey]: dockerImageName },
    optional: { local: bool, container_name: str(), network_from: str(), ...extra },
  });
}

// --- deploy ----------------------------------------------------------------

const URL_KEYS: Readonly<Record<string, Validator>> = {
  headers: dict(anything),
  compression: (value, path, check) => {
    if (value !== null) oneOf(["bz2", "gz", "xz", "zip", "zstd"], "compression")(value, path, check);
  },
  archive: literal("tar"),
  md5sum: str(),
  sha256sum: str(),
  sha512sum: str(),
  use_cache: bool,
};

/** An image or other downloadable resource: `url` and how to fetch and check it. */
function url(extra: Record<string, Validator> = {}): Validator {
  const plain = map({ required: { url: str() }, optional: { ...URL_KEYS, ...extra } });
  const overlayFormat = oneOf(["cpio.newc", "ext4", "tar"], "format");
  // An action that names its own image formats (tmpfs: qcow2) also takes the overlay formats when the image has
  // overlays, and then the format is optional: what LAVA 2023.01's schema (voluptuous merging both) accepts.
  const ownFormat = "format" in extra ? extra.format : undefined;
  const withOverlays = map({
    required: {
      url: str(),
      ...(ownFormat ? {} : { format: overlayFormat }),
      overlays: map({
        optional: { lava: bool },
        extra: "allow",
        also: (value, path, check) => {
          for (const [key, overlay] of Object.entries(value)) {
            if (key === "lava") continue;
            map({
              required: { url: str(), format: oneOf(["file", "tar"], "overlay format"), path: str() },
              optional: URL_KEYS,
            })(overlay, [...path, key], check);
          }
        },
      }),
    },
    optional: {
      ...URL_KEYS,
      ...extra,
      ...(ownFormat ? { format: either(ownFormat, overlayFormat) } : {}),
      partition: int(),
      sparse: bool,
    },
  });
  return (value, path, check) =>
    isMapping(value) && ("overlays" in value || ("format" in value && !ownFormat))
      ? withOverlays(value, path, check)
      : plain(value, path, check);
}

/** `images`: a mapping of named images, at least one. */
function images(image: Validator, allowEmpty = false): Validator {
  return (value, path, check) => {
    dict(image)(value, path, check);
    if (!allowEmpty && isMapping(value) && Object.keys(value).length === 0) report(check, path, "'images' is empty");
  };
}

function deploy(to: string, spec: MapSpec = {}): Validator {
  return map({
    ...spec,
    exclusive: [...ACTION_EXCLUSIVE, ...spec.exclusive ?? []],
    required: { to: literal(to), ...spec.required },
    optional: { ...ACTION_KEYS, os: str(), authorize: literal("ssh"), ...spec.optional },
  });
}

const mediaDeploy = (to: string) =>
  deploy(to, {
    required: { device: str() },
    optional: {
      images: map({ required: { image: url() }, extra: "allow" }),
      image: url(),
      download: map({ required: { tool: str(), options: str(), prompt: str() } }),
      writer: map({ required: { tool: str(), options: str(), prompt: str() } }),
      tool: map({ required: { prompts: list(str()) } }),
      uniquify: bool,
    },
    exclusive: [["images", "image"]],
  });

export const DEPLOY_SCHEMAS: Readonly<Record<string, Validator>> = {
  avh: deploy("avh", {
    required: {
      images: images(url({ format: literal("ext4"), root_partition: nonNegative, type: literal("image") })),
    },
    optional: { options: map({ optional: { model: str(), api_endpoint: str(), project_name: str() } }) },
  }),
  docker: deploy("docker", {
    required: { image: either(dockerImageName, docker("name")) },
    optional: { repeat: positive },
  }),
  download: deploy("download", { required: { images: images(url()) } }),
  downloads: deploy("downloads", {
    required: { images: images(url()) },
    optional: {
      uniquify: bool,
      postprocess: map({ required: { docker: docker("image", { steps: list(str()) }) } }),
    },
  }),
  fastboot: deploy("fastboot", {
    required: {
      images: images(url({
        "apply-overlay": bool,
        root_partition: nonNegative,
        sparse: bool,
        reboot: oneOf(["hard-reset", "fastboot-reboot", "fastboot-reboot-bootloader", "fastboot-reboot-fastboot"]),
      })),
    },
    optional: { docker: docker(), connection: literal("lxc") },
  }),
  flasher: deploy("flasher", { required: { images: images(url(), true) } }),
  fvp: deploy("fvp", {
    required: { images: images(url()) },
    optional: {
      ramdisk: map({ optional: { install_overlay: bool, compression: str(), header: literal("u-boot") } }),
      uniquify: bool,
    },
  }),
  "iso-installer": deploy("iso-installer", {
    required: {
      images: map({ required: { iso: url({ image_arg: str() }), preseed: url() } }),
      iso: map({ required: { installation_size: str() }, optional: { kernel: str(), initrd: str() } }),
    },
  }),
  mps: deploy("mps", {
    required: {
      images: (value, path, check) => {
        if (!isMapping(value)) return report(check, path, "expected a mapping");
        if (Object.keys(value).length === 0) report(check, path, "'images' is empty");
        for (const [key, image] of Object.entries(value)) {
          if (key === "recovery_image") url()(image, [...path, key], check);
          else if (/^test_binary(_\w+)?$/.test(key)) url({ rename: str() })(image, [...path, key], check);
          else report(check, [...path, key], "expected recovery_image or test_binary[_NAME]", true);
        }
      },
    },
  }),
  musca: deploy("musca", {
    required: {
      images: map({
        required: { test_binary: url() },
        missing: { test_binary: "'images' has no 'test_binary' entry" },
      }),
    },
  }),
  nbd: deploy("nbd", {
    required: { kernel: url({ type: oneOf(["image", "uimage", "zimage"]) }), nbdroot: url(), initrd: url() },
    optional: { dtb: url() },
    missing: { kernel: "needs a kernel to deploy" },
  }),
  nfs: deploy("nfs", {
    optional: { nfsrootfs: url(), modules: url(), images: images(url({ image_arg: str() })) },
  }),
  overlay: deploy("overlay"),
  qdl: deploy("qdl", {
    required: {
      qcomflash: (value, path, check) => {
        if (isMapping(value)) {
          for (const [key, image] of Object.entries(value)) {
            if (key === "apply-overlay") bool(image, [...path, key], check);
            else url()(image, [...path, key], check);
          }
        } else if (!((typeof value === "string" || Array.isArray(value)) && value.length > 0)) {
          report(check, path, "expected a mapping of images");
        }
      },
    },
    optional: { uniquify: bool, rootfs_image: str(), overlay_path: str() },
  }),
  recovery: deploy("recovery", { required: { images: images(url()) } }),
  sata: mediaDeploy("sata"),
  sd: mediaDeploy("sd"),
  usb: mediaDeploy("usb"),
  ssh: deploy("ssh", { optional: { firmware: url(), kernel: url(), rootfs: url(), modules: url() } }),
  tftp: deploy("tftp", {
    required: { kernel: url({ type: oneOf(["image", "uimage", "zimage"]) }) },
    optional: {
      dtb: url(),
      dtbo: list(url()),
      modules: url(),
      preseed: url(),
      tee: url(),
      extra_files: dict(url()),
      ramdisk: url({ install_modules: bool, install_overlay: bool, header: literal("u-boot") }),
      nfsrootfs: url({ install_modules: bool, install_overlay: bool, prefix: str() }),
      persistent_nfs: map({ required: { address: str() }, optional: { install_overlay: bool } }),
    },
    missing: { kernel: "needs a kernel to deploy" },
    exclusive: [["nfsrootfs", "persistent_nfs"]],
  }),
  // LAVA 2023.01 still had LXC: such a job is a valid definition, refused at submission (see removed.ts).
  lxc: deploy("lxc", { optional: { packages: list(str()) } }),
  tmpfs: deploy("tmpfs", {
    required: { images: images(url({ format: literal("qcow2"), image_arg: str() })) },
    optional: { type: literal("monitor"), uefi: url() },
  }),
  "u-boot-ums": deploy("u-boot-ums", { required: { image: url({ root_partition: nonNegative }) } }),
  "usbg-ms": deploy("usbg-ms", { required: { image: url() } }),
  uuu: deploy("uuu", {
    required: {
      images: (value, path, check) => {
        if (!isMapping(value)) return report(check, path, "expected a mapping");
        if (!("boot" in value)) report(check, [...path, "boot"], "required key not provided");
        for (const [key, image] of Object.entries(value)) {
          (key === "boot" ? url() : url({ "apply-overlay": bool, root_partition: nonNegative }))(
            image,
            [...path, key],
            check,
          );
        }
      },
    },
  }),
  vemsd: deploy("vemsd", { required: { recovery_image: url() } }),
};

// --- boot ------------------------------------------------------------------

const prompts = strOrList({ min: 1 });
const autoLogin = map({
  required: { login_prompt: str({ min: 1 }), username: str() },
  optional: {
    password_prompt: str(),
    password: str(),
    login_commands: list(str({ min: 1 })),
    ignore_kernel_messages: bool,
  },
  also: (value, path, check) => {
    if (("password_prompt" in value) !== ("password" in value)) {
      report(check, path, "auto_login needs both password_prompt and password, or neither");
    }
  },
});
const transferOverlay = map({
  required: { download_command: str(), unpack_command: str() },
  optional: { transfer_method: str() },
});
const bootParameters = map({ optional: { "kernel-start-message": str(), "shutdown-message": str() } });
const commands = strOrList();

function boot(method: string, spec: MapSpec = {}): Validator {
  return map({
    ...spec,
    exclusive: [...ACTION_EXCLUSIVE, ...spec.exclusive ?? []],
    required: { method: literal(method, `'method' should be '${method}'`), ...spec.required },
    optional: {
      ...ACTION_KEYS,
      parameters: bootParameters,
      soft_reboot: strOrList(),
      ignore_kernel_messages: bool,
      ...spec.optional,
    },
  });
}

const shell = { prompts, auto_login: autoLogin, transfer_overlay: transferOverlay };

export const BOOT_SCHEMAS: Readonly<Record<string, Validator>> = {
  avh: boot("avh", {
    required: { prompts },
    optional: {
      bootargs: map({ optional: { normal: str(), restore: str() } }),
      docker: docker(),
      auto_login: autoLogin,
    },
  }),
  barebox: boot("barebox", { required: { commands }, optional: shell }),
  bootloader: boot("bootloader", {
    required: { bootloader: str(), commands: list(str()) },
    optional: { use_bootscript: bool, prompts },
  }),
  "cmsis-dap": boot("cmsis-dap"),
  depthcharge: boot("depthcharge", {
    required: { commands },
    optional: { ...shell, extra_kernel_args: str(), use_bootscript: bool },
  }),
  dfu: boot("dfu"),
  docker: boot("docker", { required: { command: str() }, optional: { prompts, "downloads-namespace": str() } }),
  fastboot: boot("fastboot", { optional: { ...shell, commands: list(str()), use_bootscript: bool, docker: docker() } }),
  fvp: boot("fvp", {
    required: { console_string: str(), image: str(), arguments: list(str()), prompts, docker: docker("name") },
    optional: {
      use_telnet: bool,
      feedbacks: list(str()),
      license_variable: str(),
      ubl_license: str(),
      version_string: str(),
      transfer_overlay: transferOverlay,
      auto_login: autoLogin,
    },
  }),
  gdb: boot("gdb", { required: { commands: str() }, optional: { container: str() } }),
  grub: boot("grub", {
    required: { commands },
    optional: { ...shell, boot_finished: strOrList(), expect_shell: bool, use_bootscript: bool },
  }),
  "grub-efi": boot("grub-efi", {
    required: { commands },
    optional: { ...shell, boot_finished: strOrList(), expect_shell: bool, use_bootscript: bool },
  }),
  ipxe: boot("ipxe", { required: { commands }, optional: { ...shell, use_bootscript: bool } }),
  jlink: boot("jlink", { optional: { prompts: list(str()), commands: list(str()) } }),
  lxc: boot("lxc", { required: { prompts } }),
  kexec: boot("kexec", {
    required: { boot_message: str() },
    optional: {
      ...shell,
      deploy: bool,
      command: str(),
      kernel: str(),
      dtb: str(),
      initrd: str(),
      options: list(str()),
      "kernel-config": str(),
      on_panic: bool,
    },
  }),
  minimal: boot("minimal", { optional: { ...shell, pre_power_command: bool, pre_os_command: bool, reset: bool } }),
  monitor: boot("monitor"),
  musca: boot("musca", { optional: { prompts } }),
  new_connection: boot("new_connection", { required: { connection: str() }, optional: shell }),
  nodebooter: boot("nodebooter", { required: { command: str() }, optional: { prompts, "downloads-namespace": str() } }),
  openocd: boot("openocd"),
  pyocd: boot("pyocd"),
  qdl: boot("qdl", {
    required: { firehose_program: str(), rawprogram: str() },
    optional: { patch: str(), path: str(), storage: str(), debug: bool, docker: docker() },
  }),
  qemu: boot("qemu", {
    optional: {
      ...shell,
      connection: literal("serial"),
      media: literal("tmpfs"),
      docker: docker("image", { binary: str() }),
    },
  }),
  "qemu-iso": boot("qemu-iso", { required: { media: literal("img") }, optional: { prompts, auto_login: autoLogin } }),
  "qemu-nfs": boot("qemu-nfs", { optional: { ...shell, connection: literal("serial") } }),
  recovery: boot("recovery", { required: { commands: oneOf(["recovery", "exit"], "recovery command") } }),
  schroot: boot("schroot", { required: { connection: literal("ssh"), schroot: str() }, optional: { prompts } }),
  ssh: boot("ssh", {
    required: { connection: literal("ssh") },
    optional: { prompts, parameters: map({ optional: { hostID: str(), host_key: str() } }) },
  }),
  "u-boot": boot("u-boot", { required: { commands }, optional: { ...shell, use_bootscript: bool } }),
  uefi: boot("uefi", { required: { commands }, optional: { shell_menu: str(), prompts, auto_login: autoLogin } }),
  "uefi-menu": boot("uefi-menu", {
    optional: { commands: str(), line_separator: str(), prompts, auto_login: autoLogin },
  }),
  uuu: boot("uuu", { required: { commands: either(str(), list(dict(str()))) }, optional: { docker: docker() } }),
};

// --- test ------------------------------------------------------------------

const RESULT = oneOf(["pass", "fail", "skip", "unknown"], "result");

/** A test definition file ("Lava-Test Test Definition 1.0"), also given inline in jobs. */
export const testDefinition: Validator = map({
  required: {
    metadata: map({
      required: { format: literal("Lava-Test Test Definition 1.0"), name: str() },
      optional: {
        description: str(),
        environment: stringList,
        devices: stringList,
        maintainer: stringList,
        scope: stringList,
        os: stringList,
      },
      extra: "allow",
    }),
  },
  optional: {
    install: map({
      optional: {
        deps: stringList,
        "git-repos": list(
          either(str(), map({ required: { url: str() }, optional: { branch: str(), destination: str() } })),
        ),
        keys: stringList,
        steps: stringList,
        sources: stringList,
      },
      extra: "allow",
    }),
    parameters: dict(anything),
    params: dict(anything),
    parse: map({ optional: { pattern: str(), fixupdict: dict(RESULT) }, extra: "allow" }),
    run: map({ required: { steps: list(either(str(), anything)) } }),
    expected: stringList,
  },
  extra: "allow",
});

const definitionCommon: Record<string, Validator> = {
  skip_install: list(oneOf(["keys", "sources", "deps", "steps", "git-repos", "all"], "install step")),
  "lava-signal": oneOf(["kmsg", "stdout"], "signal channel"),
  expected: stringList,
};

const definition: Validator = (value, path, check) => {
  const from = isMapping(value) ? value.from : undefined;
  const required = { path: str(), name: testName };
  if (from === "git") {
    return map({
      required: { ...required, repository: str(), from: literal("git") },
      optional: {
        ...definitionCommon,
        branch: str(),
        history: bool,
        revision: str(),
        recursive: bool,
        parameters: dict(anything),
        params: dict(anything),
      },
    })(value, path, check);
  }
  if (from === "url") {
    return map({
      required: { ...required, repository: str(), from: literal("url") },
      optional: {
        ...definitionCommon,
        compression: str(),
        "strip-components": int({ min: 0 }),
        headers: dict(anything),
        parameters: dict(anything),
        params: dict(anything),
      },
    })(value, path, check);
  }
  if (from === "inline") {
    return map({
      required: { ...required, repository: testDefinition, from: literal("inline") },
      optional: { ...definitionCommon, parameters: dict(anything), params: dict(anything) },
    })(value, path, check);
  }
  if (!isMapping(value)) return report(check, path, "expected a mapping");
  report(
    check,
    [...path, "from"],
    from === undefined
      ? "required key not provided: from (git, url or inline)"
      : `${JSON.stringify(from)} is not a valid value: expected "git", "url" or "inline"`,
  );
};

function test(spec: MapSpec): Validator {
  return map({
    ...spec,
    exclusive: [...ACTION_EXCLUSIVE, ...spec.exclusive ?? []],
    optional: { ...ACTION_KEYS, ...spec.optional },
  });
}

const interactiveStep = map({
  optional: {
    command: (value, path, check) => {
      if (value !== null) str()(value, path, check);
    },
    delay: int({ min: 0 }),
    "lava-send": str(),
    "lava-sync": str(),
    "lava-wait": str(),
    "lava-wait-all": str(),
    name: testName,
    wait_for_prompt: bool,
    successes: list(map({ required: { message: str({ min: 1 }) } })),
    failures: list(map({
      required: { message: str({ min: 1 }) },
      optional: {
        exception: oneOf(["InfrastructureError", "JobError", "TestError"], "exception"),
        error: str({ min: 1 }),
      },
    })),
  },
});

export const TEST_SCHEMAS: Readonly<Record<string, Validator>> = {
  definition: test({ required: { definitions: list(definition, { min: 1 }) } }),
  docker: test({
    required: { definitions: list(definition, { min: 1 }), docker: docker() },
    optional: { "downloads-namespace": str(), disconnect_connection: bool },
  }),
  interactive: test({
    required: {
      interactive: list(map({
        required: { name: testName, prompts: list(str({ min: 1 })), script: list(interactiveStep) },
        optional: { echo: literal("discard"), expected: stringList },
      })),
    },
  }),
  monitor: test({
    required: {
      monitors: list(map({
        required: { name: testName, start: str(), end: str(), pattern: str() },
        optional: { fixupdict: dict(RESULT), expected: stringList },
      })),
    },
  }),
  // Basalt's own: the device handed to a person (worker/strategies/test/reservation.ts); `timeout` is its length.
  reservation: test({ required: { reservation: map({ optional: { warning: timeout } }), timeout } }),
  service: test({
    required: {
      services: list(map({
        required: { name: testName, repository: str(), path: str(), from: oneOf(["git", "url"], "source") },
        optional: {
          service: str(),
          branch: str(),
          history: bool,
          revision: str(),
          recursive: bool,
          compression: str(),
          headers: dict(anything),
        },
      })),
    },
  }),
};

/** Which test schema a test action uses, as LAVA chooses it. */
export function testKind(action: Record<string, unknown>): string | undefined {
  if ("definitions" in action) return "docker" in action ? "docker" : "definition";
  if ("interactive" in action) return "interactive";
  if ("monitors" in action) return "monitor";
  if ("services" in action) return "service";
  if ("reservation" in action) return "reservation";
  return undefined;
}

export const COMMAND_SCHEMA: Validator = map({
  required: { name: str() },
  optional: ACTION_KEYS,
  exclusive: ACTION_EXCLUSIVE,
});
