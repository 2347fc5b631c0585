package example;

import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;
import org.springframework.security.config.Customizer;
import org.springframework.security.config.annotation.web.builders.HttpSecurity;
import org.springframework.security.config.http.SessionCreationPolicy;
import org.springframework.security.core.userdetails.User;
import org.springframework.security.core.userdetails.UserDetailsService;
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
        return new InMemoryUserDetailsManager(User.withUsername("demo").password("{noop}demo").roles("USER").build());
    }
}
