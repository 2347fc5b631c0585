package example;

import java.time.Duration;

import jwsgi.embed.PythonAppOptions;
import jwsgi.servlet.WsgiServlet;

import org.springframework.beans.factory.annotation.Value;
import org.springframework.boot.web.servlet.ServletRegistrationBean;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;

/**
 * Mounts the Flask app of python/whoami.py at /py/* through jwsgi's servlet. The servlet starts
 * the app (CPython embedded in this JVM) when the server starts, and stops it, finalising Python,
 * when the server stops. Requests reach it after Spring Security, which authenticates them;
 * the app sees the user as REMOTE_USER.
 */
@Configuration
public class PythonConfig {
    @Bean
    public ServletRegistrationBean<WsgiServlet> flask(@Value("${jwsgi.app:whoami:app}") String app,
                                                      @Value("${jwsgi.python:/usr/bin/python3}") String python,
                                                      @Value("${jwsgi.app-dir:python}") String appDir,
                                                      @Value("${jwsgi.threads:2}") int threads) {
        PythonAppOptions options = PythonAppOptions.builder(app)
                .python(python)
                .pythonpath(appDir)
                .threads(threads)
                .timeout(Duration.ofSeconds(30))
                .build();
        ServletRegistrationBean<WsgiServlet> registration = new ServletRegistrationBean<>(new WsgiServlet(options), "/py/*");
        registration.setName("flask");
        registration.setLoadOnStartup(1);
        return registration;
    }
}
