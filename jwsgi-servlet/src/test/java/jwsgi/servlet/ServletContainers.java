package jwsgi.servlet;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;

import jakarta.servlet.Filter;
import jakarta.servlet.FilterChain;
import jakarta.servlet.ServletException;
import jakarta.servlet.ServletRequest;
import jakarta.servlet.ServletResponse;
import jakarta.servlet.http.HttpServlet;

import org.apache.catalina.Context;
import org.apache.catalina.Wrapper;
import org.apache.catalina.connector.Connector;
import org.apache.catalina.startup.Tomcat;
import org.apache.tomcat.util.descriptor.web.FilterDef;
import org.apache.tomcat.util.descriptor.web.FilterMap;
import org.apache.tomcat.util.descriptor.web.LoginConfig;
import org.apache.tomcat.util.descriptor.web.SecurityCollection;
import org.apache.tomcat.util.descriptor.web.SecurityConstraint;
import org.eclipse.jetty.ee10.servlet.FilterHolder;
import org.eclipse.jetty.ee10.servlet.ServletContextHandler;
import org.eclipse.jetty.ee10.servlet.ServletHolder;
import org.eclipse.jetty.ee10.servlet.security.ConstraintMapping;
import org.eclipse.jetty.ee10.servlet.security.ConstraintSecurityHandler;
import org.eclipse.jetty.security.Constraint;
import org.eclipse.jetty.security.HashLoginService;
import org.eclipse.jetty.security.UserStore;
import org.eclipse.jetty.security.authentication.BasicAuthenticator;
import org.eclipse.jetty.server.Server;
import org.eclipse.jetty.server.ServerConnector;
import org.eclipse.jetty.util.security.Credential;
import org.eclipse.jetty.util.thread.QueuedThreadPool;

/**
 * The two servlet containers {@link WsgiServlet} is tested in, each set up as a user would:
 * context {@code /ctx}, the servlet at {@code /py/*} (loaded at start-up), the container's own
 * HTTP Basic (user demo, password demo) on {@code /py/secure/*}, forwarded headers believed, and
 * requests on virtual threads. A filter in front notes whether each request's thread was virtual.
 */
enum ServletContainers {
    JETTY_EE10 {
        @Override
        Running start(HttpServlet servlet, Map<String, String> initParameters) throws Exception {
            QueuedThreadPool threads = new QueuedThreadPool();
            threads.setVirtualThreadsExecutor(Executors.newVirtualThreadPerTaskExecutor());
            Server server = new Server(threads);
            ServerConnector connector = new ServerConnector(server);
            connector.setHost("127.0.0.1");
            server.addConnector(connector);
            connector.getConnectionFactory(org.eclipse.jetty.server.HttpConnectionFactory.class).getHttpConfiguration()
                    .addCustomizer(new org.eclipse.jetty.server.ForwardedRequestCustomizer());
            ServletContextHandler context = new ServletContextHandler("/ctx", ServletContextHandler.SECURITY);
            ServletHolder holder = new ServletHolder(servlet);
            holder.setInitParameters(initParameters);
            holder.setInitOrder(1);
            context.addServlet(holder, "/py/*");
            context.addFilter(new FilterHolder(new ThreadNoter()), "/*", null);
            context.setSecurityHandler(security());
            server.setHandler(context);
            server.start();
            return new Running(connector.getLocalPort(), server::stop);
        }

        private static ConstraintSecurityHandler security() {
            UserStore users = new UserStore();
            users.addUser("demo", Credential.getCredential("demo"), new String[] {"user"});
            HashLoginService login = new HashLoginService("test");
            login.setUserStore(users);
            ConstraintMapping mapping = new ConstraintMapping();
            mapping.setPathSpec("/py/secure/*");
            mapping.setConstraint(Constraint.from("user"));
            ConstraintSecurityHandler security = new ConstraintSecurityHandler();
            security.addConstraintMapping(mapping);
            security.setAuthenticator(new BasicAuthenticator());
            security.setLoginService(login);
            return security;
        }
    },

    TOMCAT {
        @Override
        Running start(HttpServlet servlet, Map<String, String> initParameters) throws Exception {
            Path base = Files.createTempDirectory("jwsgi-tomcat");
            Tomcat tomcat = new Tomcat();
            tomcat.setBaseDir(base.toString());
            Connector connector = new Connector();
            connector.setPort(0);
            connector.setProperty("address", "127.0.0.1");
            connector.setProperty("useVirtualThreads", "true");
            tomcat.setConnector(connector);
            Context context = tomcat.addContext("/ctx", base.toString());
            Wrapper wrapper = Tomcat.addServlet(context, "python", servlet);
            initParameters.forEach(wrapper::addInitParameter);
            wrapper.setLoadOnStartup(1);
            context.addServletMappingDecoded("/py/*", "python");
            FilterDef filter = new FilterDef();
            filter.setFilterName("threads");
            filter.setFilter(new ThreadNoter());
            context.addFilterDef(filter);
            FilterMap filterMap = new FilterMap();
            filterMap.setFilterName("threads");
            filterMap.addURLPattern("/*");
            context.addFilterMap(filterMap);
            tomcat.addUser("demo", "demo");
            tomcat.addRole("demo", "user");
            LoginConfig login = new LoginConfig();
            login.setAuthMethod("BASIC");
            context.setLoginConfig(login);
            context.addSecurityRole("user");
            SecurityConstraint constraint = new SecurityConstraint();
            constraint.addAuthRole("user");
            SecurityCollection collection = new SecurityCollection();
            collection.addPattern("/py/secure/*");
            constraint.addCollection(collection);
            context.addConstraint(constraint);
            context.getPipeline().addValve(new org.apache.catalina.authenticator.BasicAuthenticator());
            org.apache.catalina.valves.RemoteIpValve forwarded = new org.apache.catalina.valves.RemoteIpValve();
            forwarded.setInternalProxies("127\\.0\\.0\\.1");
            forwarded.setProtocolHeader("X-Forwarded-Proto");
            tomcat.getHost().getPipeline().addValve(forwarded);
            tomcat.start();
            return new Running(connector.getLocalPort(), () -> {
                tomcat.stop();
                tomcat.destroy();
            });
        }
    };

    abstract Running start(HttpServlet servlet, Map<String, String> initParameters) throws Exception;

    /** A started container: its port, and how to stop it (which destroys the servlet). */
    record Running(int port, Stop stop) implements AutoCloseable {
        String base() {
            return "http://127.0.0.1:" + port + "/ctx/py";
        }

        @Override
        public void close() throws Exception {
            stop.stop();
        }
    }

    @FunctionalInterface
    interface Stop {
        void stop() throws Exception;
    }

    /** Notes the kind of thread each request reached the container's filters on. */
    static final class ThreadNoter implements Filter {
        /** Whether the threads seen were virtual. */
        static final Set<Boolean> SEEN = ConcurrentHashMap.newKeySet();

        @Override
        public void doFilter(ServletRequest request, ServletResponse response, FilterChain chain) throws IOException, ServletException {
            SEEN.add(Thread.currentThread().isVirtual());
            chain.doFilter(request, response);
        }
    }
}
