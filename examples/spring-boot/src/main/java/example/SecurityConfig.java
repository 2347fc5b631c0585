package example;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;

import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;
import org.springframework.security.config.Customizer;
import org.springframework.security.config.annotation.web.builders.HttpSecurity;
import org.springframework.security.config.http.SessionCreationPolicy;
import org.springframework.security.core.userdetails.User;
import org.springframework.security.core.userdetails.UserDetailsService;
import org.springframework.security.crypto.password.PasswordEncoder;
import org.springframework.security.provisioning.InMemoryUserDetailsManager;
import org.springframework.security.web.SecurityFilterChain;
import org.springframework.security.web.servlet.util.matcher.PathPatternRequestMatcher;

/** HTTP Basic (user demo, password demo) on the Flask app; the Spring endpoints are open. */
@Configuration
public class SecurityConfig {
    @Bean
    public SecurityFilterChain security(HttpSecurity http) throws Exception {
        PathPatternRequestMatcher python = PathPatternRequestMatcher.withDefaults().matcher("/py/**");
        http.authorizeHttpRequests(requests -> requests.requestMatchers(python).authenticated().anyRequest().permitAll())
                .httpBasic(Customizer.withDefaults())
                // The Flask app takes care of its own forms; Basic-authenticated API calls carry no CSRF token.
                .csrf(csrf -> csrf.ignoringRequestMatchers(python))
                .sessionManagement(session -> session.sessionCreationPolicy(SessionCreationPolicy.STATELESS));
        return http.build();
    }

    @Bean
    public UserDetailsService users() {
        return new InMemoryUserDetailsManager(User.withUsername("demo").password("demo").roles("USER").build());
    }

    /**
     * The demo's password is kept as it is. Spring's default would store it as a BCrypt hash (and
     * upgrade a "{noop}" one to BCrypt at the first login), and with HTTP Basic and no session every
     * request checks the hash again: about 80 ms of CPU each (measured, docs/embedding.md), which
     * would be all this example measures. A real service stores hashes and authenticates once per
     * session or token.
     */
    @Bean
    public PasswordEncoder passwords() {
        return new PasswordEncoder() {
            @Override
            public String encode(CharSequence raw) {
                return raw.toString();
            }

            @Override
            public boolean matches(CharSequence raw, String stored) {
                return MessageDigest.isEqual(raw.toString().getBytes(StandardCharsets.UTF_8), stored.getBytes(StandardCharsets.UTF_8));
            }
        };
    }
}
