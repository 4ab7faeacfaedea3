/** How the browser tests start Debian's Chromium: headless, in a container, talking to nothing but the lab. */
export const CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"];
