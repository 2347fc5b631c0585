package example;

import org.springframework.boot.SpringApplication;
import org.springframework.boot.autoconfigure.SpringBootApplication;

/** A Spring Boot app with a Flask app inside it, at /py/* (see PythonConfig), behind Spring Security. */
@SpringBootApplication
public class FlaskInSpringApplication {
    public static void main(String[] args) {
        SpringApplication.run(FlaskInSpringApplication.class, args);
    }
}
