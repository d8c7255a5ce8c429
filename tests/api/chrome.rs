//! A real Chromium for the browser tests, driven over WebDriver (chromedriver on a free
//! 127.0.0.1 port, headless). Without chromedriver installed the browser tests say so and
//! pass, except under `CI=true`, where a missing browser is a failure (`.ci/run` installs
//! Debian's `chromium` and `chromium-driver`).

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::{Value, json};

/// How long a page may take to show what a test waits for.
pub const PATIENCE: Duration = Duration::from_secs(5);

pub struct Chrome {
    driver: Child,
    pub client: Client,
}

fn find(names: &[&str]) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path).flat_map(|dir| names.iter().map(move |n| dir.join(n))).find(|p| p.is_file())
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).map(|a| a.port()).expect("a free port")
}

impl Chrome {
    /// A fresh headless browser with a `width`×`height` window, or `None` when this machine
    /// has no chromedriver (outside CI).
    pub async fn start(width: u32, height: u32) -> Option<Chrome> {
        let Some(driver_bin) = find(&["chromedriver"]) else {
            assert!(
                std::env::var("CI").as_deref() != Ok("true"),
                "CI=true but chromedriver is not installed (apt install chromium chromium-driver)"
            );
            eprintln!("note: chromedriver not found; browser test skipped (apt install chromium chromium-driver)");
            return None;
        };
        let port = free_port();
        let driver = Command::new(driver_bin)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start chromedriver");
        let mut options = json!({"args": [
            "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--hide-scrollbars",
            "--no-first-run", "--disable-extensions", format!("--window-size={width},{height}"),
        ]});
        if let Some(binary) = find(&["chromium", "chromium-browser", "google-chrome"]) {
            options["binary"] = Value::from(binary.to_string_lossy().into_owned());
        }
        let mut capabilities = serde_json::Map::new();
        capabilities.insert("goog:chromeOptions".into(), options);
        let url = format!("http://127.0.0.1:{port}");
        let started = Instant::now();
        // chromedriver takes a moment to listen: retry the session until it does.
        let client = loop {
            match ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
                .capabilities(capabilities.clone())
                .connect(&url)
                .await
            {
                Ok(client) => break client,
                Err(e) if started.elapsed() < Duration::from_secs(20) => {
                    let _ = e;
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
                Err(e) => panic!("no WebDriver session: {e}"),
            }
        };
        client.set_window_size(width, height).await.expect("window size");
        Some(Chrome { driver, client })
    }

    pub async fn goto(&self, url: &str) {
        self.client.goto(url).await.unwrap_or_else(|e| panic!("open {url}: {e}"));
    }

    /// The first element matching `css`, waiting for it to appear.
    pub async fn find(&self, css: &str) -> fantoccini::elements::Element {
        self.client.wait().at_most(PATIENCE).for_element(Locator::Css(css)).await.unwrap_or_else(|e| panic!("no {css}: {e}"))
    }

    /// Clicks the element matching `css`, finding it again when a live update replaced it
    /// between finding and clicking.
    pub async fn click(&self, css: &str) {
        let deadline = Instant::now() + PATIENCE;
        loop {
            match self.find(css).await.click().await {
                Ok(()) => return,
                Err(e) if Instant::now() < deadline && e.to_string().contains("stale") => {}
                Err(e) => panic!("click {css}: {e}"),
            }
        }
    }

    pub async fn exists(&self, css: &str) -> bool {
        !self.client.find_all(Locator::Css(css)).await.expect("query").is_empty()
    }

    pub async fn js(&self, script: &str, args: Vec<Value>) -> Value {
        self.client.execute(script, args).await.unwrap_or_else(|e| panic!("script failed: {e}\n{script}"))
    }

    /// Waits until `script` (an expression's body returning a boolean) is true in the page.
    pub async fn until(&self, what: &str, script: &str) {
        let deadline = Instant::now() + PATIENCE;
        loop {
            if self.js(script, vec![]).await == Value::Bool(true) {
                return;
            }
            if Instant::now() >= deadline {
                let url = self.client.current_url().await.map(|u| u.to_string()).unwrap_or_default();
                let text = self.js("return document.body.innerText.slice(0, 600);", vec![]).await;
                panic!("timed out waiting for {what} on {url}; the page says: {text}");
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Runs a Chrome DevTools Protocol command (chromedriver's `goog/cdp/execute`): what
    /// WebDriver cannot do, such as granting a permission or delivering a push message.
    pub async fn cdp(&self, cmd: &str, params: Value) -> Result<Value, String> {
        self.client.issue_cmd(Cdp(json!({"cmd": cmd, "params": params}))).await.map_err(|e| e.to_string())
    }

    /// Switches the signed-in browser to `theme` (dark, light) as the header's toggle does.
    pub async fn set_theme(&self, theme: &str) {
        let set = format!(
            "return fetch('/theme', {{method: 'POST', body: new URLSearchParams({{theme: '{theme}'}}), redirect: 'manual'}}).then(() => true);"
        );
        self.js(&set, vec![]).await;
    }

    /// The page as a person reads it: every text at AA contrast and every control labelled;
    /// `what` names the page, theme and device in a failure.
    pub async fn assert_readable(&self, what: &str) {
        assert_eq!(self.js(CONTRAST_CHECK, vec![]).await, json!([]), "{what} has text below AA contrast");
        assert_eq!(self.js(UNLABELLED_CONTROLS, vec![]).await, json!([]), "{what} has controls without a label");
    }

    /// Saves a screenshot of the page as `dir/name.png`.
    pub async fn screenshot(&self, dir: &Path, name: &str) {
        let png = self.client.screenshot().await.expect("screenshot");
        std::fs::create_dir_all(dir).expect("screenshot folder");
        std::fs::write(dir.join(format!("{name}.png")), png).expect("write screenshot");
    }

    pub async fn quit(mut self) {
        let _ = self.client.clone().close().await;
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}

#[derive(Debug)]
struct Cdp(Value);

impl fantoccini::wd::WebDriverCompatibleCommand for Cdp {
    fn endpoint(&self, base: &reqwest::Url, session: Option<&str>) -> Result<reqwest::Url, <reqwest::Url as std::str::FromStr>::Err> {
        base.join(&format!("session/{}/goog/cdp/execute", session.unwrap_or_default()))
    }

    fn method_and_body(&self, _url: &reqwest::Url) -> (axum::http::Method, Option<String>) {
        (axum::http::Method::POST, Some(self.0.to_string()))
    }
}

impl Drop for Chrome {
    fn drop(&mut self) {
        // After a failed assertion: end the browser session from a thread of its own (Drop
        // cannot await), then the driver.
        let client = self.client.clone();
        let _ = std::thread::spawn(move || {
            if let Ok(rt) = tokio::runtime::Builder::new_current_thread().enable_all().build() {
                rt.block_on(async move {
                    let _ = tokio::time::timeout(Duration::from_secs(5), client.close()).await;
                });
            }
        })
        .join();
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}

/// Every text on the page whose contrast with what is behind it is below WCAG AA (4.5:1,
/// 3:1 for large text), as `text (ratio)`; empty when all pass.
pub const CONTRAST_CHECK: &str = r#"
const parse = (c) => { const m = c.match(/rgba?\(([^)]+)\)/); if (!m) return null;
  const p = m[1].split(/[ ,\/]+/).filter(Boolean).map(Number); return [p[0], p[1], p[2], p.length > 3 ? p[3] : 1]; };
const lum = ([r, g, b]) => { const f = (v) => { v /= 255; return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4; };
  return 0.2126 * f(r) + 0.7152 * f(g) + 0.0722 * f(b); };
const over = (top, bottom) => { const a = top[3]; return [0, 1, 2].map((i) => top[i] * a + bottom[i] * (1 - a)).concat(1); };
function background(el) {
  const layers = [];
  for (let e = el; e; e = e.parentElement) { const c = parse(getComputedStyle(e).backgroundColor); if (c && c[3] > 0) { layers.push(c); if (c[3] >= 1) break; } }
  let color = [255, 255, 255, 1];
  for (const layer of layers.reverse()) color = over(layer, color);
  return color;
}
const failures = [];
for (const el of document.querySelectorAll('body *')) {
  const own = [...el.childNodes].some((n) => n.nodeType === 3 && n.textContent.trim());
  if (!own || !el.getClientRects().length) continue;
  const style = getComputedStyle(el);
  if (style.visibility === 'hidden' || Number(style.opacity) < 1 || el.closest('[hidden], .visually-hidden')) continue;
  const bg = background(el);
  const fg = over(parse(style.color), bg);
  const [a, b] = [lum(fg), lum(bg)];
  const ratio = (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05);
  const size = parseFloat(style.fontSize), bold = Number(style.fontWeight) >= 700;
  const need = size >= 24 || (bold && size >= 18.66) ? 3 : 4.5;
  if (ratio < need) failures.push(`${el.textContent.trim().slice(0, 40)} (${ratio.toFixed(2)}; ${style.color} on rgb(${bg.slice(0, 3).map(Math.round)}))`);
}
return failures;
"#;

/// Every form control and link without an accessible name, as `tag#id.class`; empty when
/// each has one (a label, `aria-label`, its own text, or a `title`).
pub const UNLABELLED_CONTROLS: &str = r#"
const named = (el) => (el.getAttribute('aria-label') || '').trim() || (el.labels && [...el.labels].some((l) => l.textContent.trim()))
  || (el.textContent || '').trim() || (el.getAttribute('title') || '').trim() || (el.getAttribute('alt') || '').trim();
return [...document.querySelectorAll('input:not([type=hidden]), select, textarea, button, a[href], summary')]
  .filter((el) => el.getClientRects().length && !named(el))
  .map((el) => `${el.tagName.toLowerCase()}#${el.id}.${[...el.classList].join('.')}`);
"#;
