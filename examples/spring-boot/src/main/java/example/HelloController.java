package example;

import java.util.Map;

import org.springframework.web.bind.annotation.GetMapping;
import org.springframework.web.bind.annotation.RestController;

/** Java's side of the service: an ordinary Spring MVC endpoint next to the Flask app. */
@RestController
public class HelloController {
    @GetMapping("/api/hello")
    public Map<String, String> hello() {
        return Map.of("message", "hello from spring", "framework", "spring");
    }
}
