package io.moxxie.examples.server;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.openqa.selenium.By;
import org.openqa.selenium.JavascriptExecutor;
import org.openqa.selenium.OutputType;
import org.openqa.selenium.WebElement;
import org.openqa.selenium.chrome.ChromeDriver;
import org.openqa.selenium.chrome.ChromeDriverService;
import org.openqa.selenium.chrome.ChromeOptions;
import org.openqa.selenium.logging.LogEntry;
import org.openqa.selenium.logging.LogType;
import org.openqa.selenium.logging.LoggingPreferences;
import org.openqa.selenium.support.ui.ExpectedConditions;
import org.openqa.selenium.support.ui.Select;
import org.openqa.selenium.support.ui.WebDriverWait;

import java.io.File;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.logging.Level;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assertions.fail;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * The dashboard in a real browser: headless Chromium driven through WebDriver (Debian's {@code chromium} and
 * {@code chromium-driver}), against a server with a bearer token on the demo cluster. Without them the tests are
 * skipped saying how to install them; with {@code CI=true} a missing browser fails the build, as the guide's scripts
 * do for curl and jq.
 */
class DashboardBrowserTest {
    static final String TOKEN = "dashboard-test-token-0123456789abcdef";
    /** Slow enough to see a drain in progress, quick enough that a soft drain of hv7 takes seconds. */
    static final String SPEED = "30";
    static final Duration WAIT = Duration.ofSeconds(60);
    static Path chromium;
    static Path chromedriver;

    @TempDir
    Path dataDir;
    MoxxieServer server;
    ChromeDriver driver;
    WebDriverWait wait;

    @BeforeAll
    static void requireBrowser() {
        chromium = find(System.getenv("CHROME_BIN"), "chromium", "chromium-browser", "google-chrome");
        chromedriver = find(System.getenv("CHROMEDRIVER"), "chromedriver");
        if (chromium != null && chromedriver != null) return;
        String message = "the dashboard's browser tests need " + (chromium == null ? "chromium" : "")
                + (chromium == null && chromedriver == null ? " and " : "") + (chromedriver == null ? "chromedriver" : "")
                + " (apt-get install -y chromium chromium-driver; .ci/run installs them)";
        if ("true".equals(System.getenv("CI"))) fail(message);
        assumeTrue(false, "SKIPPED: " + message);
    }

    private static Path find(String explicit, String... names) {
        if (explicit != null && !explicit.isBlank() && Files.isExecutable(Paths.get(explicit))) return Paths.get(explicit);
        for (String dir : System.getenv().getOrDefault("PATH", "/usr/bin").split(File.pathSeparator)) {
            for (String name : names) {
                Path p = Paths.get(dir, name);
                if (Files.isExecutable(p)) return p;
            }
        }
        return null;
    }

    @BeforeEach
    void start() {
        server = TestServers.start(dataDir, Map.of("MOXXIE_API_TOKEN", TOKEN, "MOXXIE_DEMO_SPEED", SPEED));
        ChromeOptions options = new ChromeOptions();
        options.setBinary(chromium.toFile());
        options.addArguments("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu", "--window-size=1440,1100",
                "--no-first-run", "--disable-extensions", "--disable-background-networking");
        LoggingPreferences logs = new LoggingPreferences();
        logs.enable(LogType.BROWSER, Level.ALL);
        options.setCapability("goog:loggingPrefs", logs);
        ChromeDriverService service = new ChromeDriverService.Builder().usingDriverExecutable(chromedriver.toFile()).usingAnyFreePort().build();
        driver = new ChromeDriver(service, options);
        wait = new WebDriverWait(driver, WAIT);
    }

    @AfterEach
    void stop() {
        if (driver != null) driver.quit();
        if (server != null) server.close();
    }

    private String page() {
        return server.uri() + "/";
    }

    private void enterToken(String token) {
        wait.until(ExpectedConditions.visibilityOfElementLocated(By.id("token-input"))).sendKeys(token);
        driver.findElement(By.id("token-submit")).click();
    }

    private List<LogEntry> browserLog() {
        return driver.manage().logs().get(LogType.BROWSER).getAll();
    }

    private static List<String> problems(List<LogEntry> entries) {
        return entries.stream().filter(e -> e.getLevel().intValue() >= Level.WARNING.intValue()).map(LogEntry::getMessage).toList();
    }

    private Object js(String script) {
        return ((JavascriptExecutor) driver).executeScript(script);
    }

    /** Clicks the element, found again if the page re-drew it in between (an event arrived). */
    private void click(By by) {
        wait.until(d -> {
            try {
                d.findElement(by).click();
                return true;
            } catch (org.openqa.selenium.StaleElementReferenceException e) {
                return false;
            }
        });
    }

    /** Waits; on a timeout the failure shows the page's text and the browser's log. */
    private <T> T waitShowingPage(java.util.function.Function<org.openqa.selenium.WebDriver, T> condition) {
        try {
            return wait.until(d -> {
                T value = condition.apply(d);
                return value instanceof Boolean b && !b ? null : value;
            });
        } catch (org.openqa.selenium.TimeoutException e) {
            throw new AssertionError(e.getMessage() + "\npage:\n" + driver.findElement(By.tagName("body")).getText()
                    + "\nbrowser log:\n" + browserLog().stream().map(LogEntry::toString).reduce("", (a, b) -> a + b + "\n"), e);
        }
    }

    @Test
    void loadsWithoutConsoleErrorsAndShowsTheNodesAndHv7sGuests() {
        driver.get(page());
        enterToken(TOKEN);
        wait.until(d -> d.findElements(By.cssSelector("#guests tbody tr")).size() == 15);
        // The first load asked the API without a token (a 401 the browser logs): from here on, with the token, a
        // reload must log nothing.
        browserLog();
        driver.navigate().refresh();
        wait.until(d -> d.findElements(By.cssSelector("#guests tbody tr")).size() == 15);
        wait.until(d -> "live".equals(d.findElement(By.id("live")).getAttribute("data-state")));
        assertThat(driver.findElement(By.id("token-dialog")).isDisplayed()).as("no token asked for again in the same tab").isFalse();
        assertThat(problems(browserLog())).as("browser console warnings and errors").isEmpty();

        assertThat(driver.findElement(By.id("guests-node")).getAttribute("textContent")).isEqualTo("hv7");
        List<WebElement> nodes = driver.findElements(By.cssSelector("#nodes .node"));
        assertThat(nodes).extracting(n -> n.getAttribute("data-node")).containsExactly("hv7", "hv8", "hv9", "hv10");
        assertThat(nodes.get(0).getText()).contains("online", "15 guests", "GiB");
        String guests = driver.findElement(By.id("guests")).getText();
        assertThat(guests).contains("8200", "web-prod-01", "8201", "db-prod-01", "always-on");
        // the page and its assets are served with a policy that allows this server only
        Api.Result root = new Api(server.uri()).get("/");
        assertThat(root.raw().headers().firstValue("Content-Security-Policy")).get().asString().contains("default-src 'none'", "connect-src 'self'");
    }

    @Test
    void aWrongTokenSaysSoAndAskedAgainTheRightOneWorks() {
        driver.get(page());
        enterToken("not-the-token");
        WebElement error = wait.until(ExpectedConditions.visibilityOfElementLocated(By.id("token-error")));
        assertThat(error.getText()).contains("refused this token").contains("invalid bearer token").contains("MOXXIE_API_TOKEN");
        assertThat((String) ((JavascriptExecutor) driver).executeScript("return sessionStorage.getItem('moxxie.token')"))
                .as("a refused token is not kept").isNull();
        assertThat(driver.getCurrentUrl()).doesNotContain("token");

        driver.findElement(By.id("token-input")).clear();
        enterToken(TOKEN);
        wait.until(d -> d.findElements(By.cssSelector("#guests tbody tr")).size() == 15);
        assertThat(driver.getCurrentUrl()).as("the token never goes into a URL").doesNotContain(TOKEN);
    }

    @Test
    void startsASoftDrainThroughTheDryRunPlanAndWatchesItFinishOverServerSentEvents() throws Exception {
        driver.get(page());
        enterToken(TOKEN);
        wait.until(d -> d.findElements(By.cssSelector("#guests tbody tr")).size() == 15);
        wait.until(d -> "live".equals(d.findElement(By.id("live")).getAttribute("data-state")));
        browserLog();

        click(By.cssSelector(".node[data-node='hv7'] button[data-action='drain']"));
        // The confirmation shows the dry run's plan before anything starts: 15 guests, those that stay with their reason.
        wait.until(d -> d.findElements(By.cssSelector("#plan-table tbody tr")).size() == 15);
        assertThat(new Select(driver.findElement(By.id("drain-mode"))).getFirstSelectedOption().getAttribute("value")).isEqualTo("soft");
        String plan = driver.findElement(By.id("confirm-plan")).getText();
        assertThat(plan).contains("8200", "web-prod-01", "stay");
        assertThat(driver.findElements(By.cssSelector("#plan-table tr[data-action='skip']"))).isNotEmpty();
        assertThat(server.service().activeDrains()).as("the dry run started nothing").isEmpty();
        WebElement ok = wait.until(ExpectedConditions.elementToBeClickable(By.id("confirm-ok")));
        assertThat(ok.getText()).isEqualTo("Start soft drain");
        ok.click();

        // Mid-drain: a card with a progress bar per guest, fed by the event stream. (The page redraws the card at every
        // event: what is read of it is read in one script, not element by element.)
        String drainId = waitShowingPage(d -> (String) js("const c = document.querySelector('#drains .drain'); return c && c.dataset.drain"));
        assertThat(server.eventClients()).as("the page follows GET /api/v1/events").isEqualTo(1);
        waitShowingPage(d -> (Boolean) js("return document.querySelectorAll(\"#drains .drain tr[data-status='completed']\").length > 0"
                + " || !document.querySelector('#drains .drain')"));
        Path shot = Paths.get("target", "dashboard-mid-drain.png");
        Files.createDirectories(shot.getParent());
        Files.copy(driver.getScreenshotAs(OutputType.FILE).toPath(), shot, StandardCopyOption.REPLACE_EXISTING);

        // The end arrives as an event: the card goes, the history shows the drain completed, hv7's guests left.
        waitShowingPage(d -> (Boolean) js("return !document.querySelector('#drains .drain')"));
        String row = waitShowingPage(d -> (String) js("const r = document.querySelector(\"#history tr[data-drain='" + drainId + "']\");"
                + " return r && r.dataset.status + ' ' + r.textContent"));
        assertThat(row).startsWith("completed ").contains("hv7", "drain (soft)");
        var status = server.service().status("hv7", drainId);
        assertThat(status.completedVMs()).isEqualTo(12);
        waitShowingPage(d -> d.findElements(By.cssSelector("#guests tbody tr")).size() == status.skippedVMs());
        assertThat(problems(browserLog())).as("browser console errors during the drain").isEmpty();
    }

    @Test
    void showsARolloutNodeByNodeAndItsContinueButtonLetsTheWaitingNodeGoOn() {
        Api api = new Api(server.uri(), TOKEN);
        // hv9 after hv10, so that the card shows a node pending; the rollout is cancelled before hv9's (long) drain ends.
        Api.Result started = api.post("/api/v1/rollouts", "{\"nodes\": [\"hv10\", \"hv9\"], \"settleTimeSeconds\": 0}");
        assertThat(started.status()).as("%s", started).isEqualTo(202);
        String id = started.body().get("rolloutId").asText();
        driver.get(page());
        enterToken(TOKEN);
        wait.until(d -> "live".equals(d.findElement(By.id("live")).getAttribute("data-state")));
        browserLog();

        // The card names each node with its step; when hv10's action waits, its button says so.
        String card = "#rollouts .rollout[data-rollout='" + id + "']";
        waitShowingPage(d -> (Boolean) js("const b = document.querySelector(\"" + card + " button[data-action='continue']\");"
                + " return !!b && b.textContent === 'Continue hv10'"));
        String steps = (String) js("return [...document.querySelectorAll(\"" + card + " .step\")].map(s => s.dataset.node + ' '"
                + " + s.dataset.state + ' ' + s.textContent).join('|')");
        assertThat(steps).startsWith("hv10 waiting ").contains("action", "|hv9 pending ");
        click(By.cssSelector(card + " button[data-action='continue']"));

        // hv10 goes on (back, undrained, done) and hv9 is next; cancelled from the card, through its confirmation.
        waitShowingPage(d -> (Boolean) js("const s = document.querySelector(\"" + card + " .step[data-node='hv10']\");"
                + " return !!s && s.dataset.state === 'succeeded'"));
        click(By.cssSelector(card + " button[data-action='cancel-rollout']"));
        WebElement ok = wait.until(ExpectedConditions.elementToBeClickable(By.id("confirm-ok")));
        assertThat(ok.getText()).isEqualTo("Cancel rollout");
        ok.click();
        waitShowingPage(d -> (Boolean) js("const c = document.querySelector(\"" + card + "\"); return !!c && c.dataset.state === 'cancelled'"));
        assertThat((String) js("return document.querySelector(\"" + card + "\").textContent")).contains("1 / 2 done", "Cancelled");
        assertThat(driver.findElements(By.cssSelector(card + " button"))).as("nothing left to press").isEmpty();
        assertThat(server.rollouts().status(id).rollout().state().wireName()).isEqualTo("cancelled");
        assertThat(problems(browserLog())).as("browser console errors during the rollout").isEmpty();
    }
}
