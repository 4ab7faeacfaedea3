/**
 * The class LAVA 2023.01's dispatcher uses for each action name Basalt's
 * pipeline shares with it (`lava_dispatcher`'s `name = "..."`), so that
 * `jobs describe` prints LAVA's `describe()` shape and pipelines can be compared
 * with LAVA's action by action. A name Basalt has and LAVA has not gets no class.
 */
export const LAVA_ACTION_CLASSES: Readonly<Record<string, string>> = {
  "apply-overlay-guest": "ApplyOverlayGuest",
  "apply-overlay-tftp": "ApplyOverlayTftp",
  "auto-login-action": "AutoLoginAction",
  "boot-image-retry": "BootQEMUImageAction",
  "boot-qemu-image": "BootQemuRetry",
  "bootloader-commands": "BootloaderCommandsAction",
  "bootloader-interrupt": "BootloaderInterruptAction",
  "bootloader-overlay": "BootloaderCommandOverlay",
  "compress-overlay": "CompressOverlay",
  "connect-device": "ConnectDevice",
  "deploy-device-env": "DeployDeviceEnvironment",
  "deployimages": "DeployImagesAction",
  "download-retry": "DownloaderAction",
  "execute-qemu": "CallQemuAction",
  "expect-shell-connection": "ExpectShellSession",
  "export-device-env": "ExportDeviceEnvironment",
  "file-download": "FileDownloadAction",
  "finalize": "FinalizeAction",
  "git-repo-action": "GitRepoAction",
  "http-download": "HttpDownloadAction",
  "inline-repo-action": "InlineRepoAction",
  "lava-multinode-overlay": "MultinodeOverlayAction",
  "lava-overlay": "OverlayAction",
  "lava-test-retry": "TestShellRetry",
  "lava-test-shell": "TestShellAction",
  "login-action": "LoginAction",
  "minimal-boot": "MinimalBoot",
  "nbd-deploy": "NbdAction",
  "pdu-reboot": "PDUReboot",
  "power-off": "PowerOff",
  "prepare-tftp-overlay": "PrepareOverlayTftp",
  "read-feedback": "ReadFeedback",
  "reset-device": "ResetDevice",
  "test-definition": "TestDefinitionAction",
  "test-install-overlay": "TestInstallAction",
  "test-overlay": "TestOverlayAction",
  "test-runscript-overlay": "TestRunnerAction",
  "tftp-deploy": "TftpAction",
  "uboot-action": "UBootAction",
  "uboot-commands": "UBootCommandsAction",
  "url-repo-action": "UrlRepoAction",
  "user-command": "CommandAction",
};

/** LAVA's class for an action name, or null when LAVA has no action of that name. */
export function lavaActionClass(name: string): string | null {
  return Object.hasOwn(LAVA_ACTION_CLASSES, name) ? LAVA_ACTION_CLASSES[name] : null;
}
